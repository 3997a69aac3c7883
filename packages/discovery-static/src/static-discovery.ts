import { type FSWatcher, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import {
  AbstractDiscoveryBackend,
  type BackendOptions,
  type LocalPeer,
  raceSignal,
} from '@peer/discovery-core'
import {
  BACKEND_OPTION_KEYS,
  numberOption,
  renamedOption,
  warnUnknownOptions,
} from '@peer/discovery-core/internal'
import { StaticConfigError, StaticOptionError } from './errors.js'
import { parsePeerListText, type StaticPeer, validatePeerList } from './peer-list.js'

/** Every option the constructor reads (others are warned about); a test checks it against the API report. */
const STATIC_DISCOVERY_OPTION_KEYS: ReadonlySet<string> = new Set([
  ...BACKEND_OPTION_KEYS,
  'debounce',
  'debounceMs',
  'env',
  'environment',
  'file',
  'peers',
  'watch',
])

/** Options of {@link StaticDiscovery}. */
export interface StaticDiscoveryOptions extends BackendOptions {
  /** Peers given in code. Invalid entries make the constructor throw. */
  peers?: readonly StaticPeer[]
  /** A JSON file (`{ "version": 1, "peers": [...] }` or an array), read on start. */
  file?: string
  /** Watch `file` and turn edits into events. Default true. */
  watch?: boolean
  /** Milliseconds to wait for an edit to settle before reloading. Default 50. */
  debounceMs?: number
  /**
   * Same as `debounceMs` (ms); using it emits a one-time `DeprecationWarning`.
   * @deprecated Use `debounceMs` (same unit); accepted until the next minor version.
   */
  debounce?: number
  /**
   * Name of an environment variable holding the same JSON as the file. Read on start; an unset
   * or empty variable means no peers.
   */
  env?: string
  /** The environment to read `env` from. Default `process.env`. */
  environment?: Readonly<Record<string, string | undefined>>
}

type Layer = 'code' | 'env' | 'file' | 'runtime'
// later layers win when the same id appears twice
const PRECEDENCE: readonly Layer[] = ['code', 'env', 'file', 'runtime']

/**
 * Static discovery: peers from code, a watched JSON file or an environment variable, plus peers
 * added and removed at run time. Edits to the file become `peer:discovered` / `peer:updated` /
 * `peer:lost` diffs; an invalid edit keeps the last good list and is reported as a
 * `discovery:error` (and counted in `stats.invalidRecords`).
 *
 * @example
 * ```ts
 * const discovery = new StaticDiscovery({ file: 'peers.json', self: myId })
 * discovery.addEventListener('peer:discovered', (e) => console.log(e.detail.record))
 * await discovery.start()
 * ```
 */
export class StaticDiscovery extends AbstractDiscoveryBackend {
  readonly #options: StaticDiscoveryOptions
  readonly #debounceMs: number
  readonly #layers = new Map<Layer, Map<string, LocalPeer>>()
  #watcher: FSWatcher | undefined
  #debounce: ReturnType<typeof setTimeout> | undefined
  #reloading: Promise<void> = Promise.resolve()

  constructor(options: StaticDiscoveryOptions = {}) {
    super('static', ['list', 'watch'], options)
    warnUnknownOptions('StaticDiscovery', options, STATIC_DISCOVERY_OPTION_KEYS)
    this.#options = options
    this.#debounceMs = numberOption(
      renamedOption(options, {
        current: 'debounceMs',
        deprecated: 'debounce',
        owner: 'StaticDiscovery',
        error: StaticOptionError,
      }),
      'debounceMs',
      50,
      { min: 0 },
      StaticOptionError,
    )
    if (options.peers !== undefined) {
      this.#layers.set(
        'code',
        validatePeerList(options.peers, 'options.peers', this.recordLimits, this.maxPeers),
      )
    }
    this.#layers.set('runtime', new Map())
  }

  /** The peers currently configured (all layers merged), whether or not the backend is started. */
  configured(): LocalPeer[] {
    return [...this.#merged().values()]
  }

  /** Adds (or replaces) a peer at run time; it survives file reloads. Throws on invalid input. */
  add(peer: StaticPeer): void {
    const valid = validatePeerList([peer], 'add()', this.recordLimits)
    const runtime = this.#layers.get('runtime')!
    for (const [id, p] of valid) {
      if (!runtime.has(id) && runtime.size >= this.maxPeers) {
        throw new StaticConfigError('add()', `more than ${this.maxPeers} runtime peers`)
      }
      runtime.set(id, p)
    }
    this.#apply()
  }

  /**
   * Removes a peer added at run time (peers from code, env or the file stay). Returns whether it
   * was there.
   */
  remove(id: string): boolean {
    const removed = this.#layers.get('runtime')!.delete(id)
    if (removed) this.#apply()
    return removed
  }

  /**
   * Manual discovery (as Elixir PeerNet's `Discovery.Manual`): reports `peer` as discovered now,
   * as if it had been found. Same as {@link add}.
   */
  announcePeer(peer: StaticPeer): void {
    this.add(peer)
  }

  /** Manual discovery: reports the peer as lost now. Same as {@link remove}. */
  losePeer(id: string): boolean {
    return this.remove(id)
  }

  /**
   * Re-reads the file and environment now (the file is also watched). Rejects with a
   * {@link StaticConfigError}.
   */
  async reload(options: { signal?: AbortSignal } = {}): Promise<void> {
    const next = this.#reloading.catch(() => {}).then(() => this.#load())
    this.#reloading = next.catch(() => {})
    await raceSignal(next, options.signal)
    this.#apply()
  }

  /**
   * Reads the environment variable and the file (an unreadable or invalid list rejects, so `start()`
   * fails with a {@link StaticConfigError}), watches the file unless `watch` is false, and reports
   * every configured peer.
   */
  protected async onStart(signal: AbortSignal | undefined): Promise<void> {
    await raceSignal(this.#load(), signal)
    if (this.#options.file !== undefined && this.#options.watch !== false) this.#watch(this.#options.file)
    this.#apply()
  }

  /** Closes the file watcher, cancels a pending reload and waits for one in progress. */
  protected async onStop(): Promise<void> {
    this.#watcher?.close()
    this.#watcher = undefined
    clearTimeout(this.#debounce)
    this.#debounce = undefined
    await this.#reloading
  }

  async #load(): Promise<void> {
    const { env, file } = this.#options
    if (env !== undefined) {
      const text = (this.#options.environment ?? process.env)[env]
      const where = `environment variable ${env}`
      this.#layers.set(
        'env',
        text === undefined || text.trim() === ''
          ? new Map()
          : parsePeerListText(text, where, this.recordLimits, this.maxPeers),
      )
    }
    if (file !== undefined) {
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch (error) {
        throw new StaticConfigError(`file ${file}`, `cannot be read (${(error as Error).message})`, {
          cause: error,
        })
      }
      this.#layers.set('file', parsePeerListText(text, `file ${file}`, this.recordLimits, this.maxPeers))
    }
  }

  // Watches the directory, not the file: editors and atomic writers replace the file by rename.
  #watch(file: string): void {
    const path = resolve(file)
    const name = basename(path)
    try {
      this.#watcher = watch(dirname(path), (_event, changed) => {
        if (changed !== null && changed !== name) return
        clearTimeout(this.#debounce)
        this.#debounce = setTimeout(() => this.#onFileChange(), this.#debounceMs)
      })
      this.#watcher.on('error', (error) => this.reportError(error))
    } catch (error) {
      this.reportError(new StaticConfigError(`file ${file}`, 'cannot be watched', { cause: error }))
    }
  }

  #onFileChange(): void {
    this.#debounce = undefined
    if (!this.active) return
    this.reload().catch((error: unknown) => {
      this.countInvalid(String(error))
      this.log.warn('kept the last good peer list', { error: (error as Error).message })
      this.reportError(error)
    })
  }

  #merged(): Map<string, LocalPeer> {
    const merged = new Map<string, LocalPeer>()
    for (const layer of PRECEDENCE)
      for (const [id, peer] of this.#layers.get(layer) ?? []) merged.set(id, peer)
    return merged
  }

  // Diffs the configured list against what was reported and emits the difference.
  #apply(): void {
    if (!this.active) return
    const wanted = this.#merged()
    for (const known of [...this.knownPeers()]) {
      if (!wanted.has(known.id)) this.reportLost(known.id, 'removed')
    }
    // reportPeer emits only for new or changed records
    for (const peer of wanted.values()) this.reportPeer(peer)
  }
}
