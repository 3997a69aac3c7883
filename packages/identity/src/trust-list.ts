import { readFile, stat } from 'node:fs/promises'
import {
  type AbortOptions,
  abortErrorFor,
  assertNodeId,
  isNodeId,
  TypedEventTarget,
  throwIfAborted,
} from '@peer/discovery-core'
import { describeValue, errorMessage, hasControlChars, writeFileAtomic } from '@peer/discovery-core/internal'
import { IdentityConfigError, IdentityError, TrustListFileError, TrustListFullError } from './errors.js'

/** One trusted node. */
export interface TrustEntry {
  /** The trusted node id. */
  readonly id: string
  /** A human label (e.g. the node's name), for logs and tables. Never used for trust decisions. */
  readonly label?: string
  /** When the entry was added (ISO 8601). */
  readonly addedAt: string
}

/** Payload of `trust:added` and `trust:removed`. */
export interface TrustChangeDetail {
  /** The entry added, or the entry removed (as it was). */
  entry: TrustEntry
}

/** Events of a {@link TrustList}. */
export interface TrustListEvents {
  /** A node id became trusted. */
  'trust:added': CustomEvent<TrustChangeDetail>
  /** A node id is no longer trusted. */
  'trust:removed': CustomEvent<TrustChangeDetail>
}

/** Options of {@link TrustList}. */
export interface TrustListOptions {
  /**
   * Most entries the list holds (a non-negative integer, else {@link IdentityConfigError}); `add`
   * and `replace` beyond it throw {@link TrustListFullError}. Default 10,000.
   */
  maxEntries?: number
  /** Cancels `TrustList.load` (an `AbortError`). */
  signal?: AbortSignal | undefined
}

/** Longest label accepted, in characters. */
export const MAX_LABEL_LENGTH = 200
/** Largest trust list file accepted. */
export const MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024
/** Version written into (and required in) trust list files. */
export const TRUST_FILE_VERSION = 1

/**
 * The set of node ids this node trusts, with labels. An `EventTarget` that emits `trust:added`
 * and `trust:removed` for every id added or removed (including by `reload`/`replace`; a label
 * change emits nothing).
 *
 * File format (JSON, UTF-8, written by {@link TrustList.save}):
 * ```json
 * { "version": 1,
 *   "peers": [ { "id": "<52-char node id>", "label": "db-1", "addedAt": "2026-01-01T00:00:00.000Z" } ] }
 * ```
 * `label` and `addedAt` are optional on input; ids must be valid node ids and unique.
 */
export class TrustList extends TypedEventTarget<TrustListEvents> {
  /** The limit given at construction. */
  readonly maxEntries: number
  readonly #entries = new Map<string, TrustEntry>()

  constructor(
    entries: Iterable<string | { id: string; label?: string }> = [],
    options: TrustListOptions = {},
  ) {
    super()
    this.maxEntries = options.maxEntries ?? 10_000
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 0) {
      throw new IdentityConfigError(`maxEntries must be a non-negative integer, got ${this.maxEntries}`, {
        option: 'maxEntries',
      })
    }
    if (typeof entries === 'string' || typeof entries?.[Symbol.iterator] !== 'function') {
      const what = `${typeof entries === 'string' ? 'the string ' : ''}${describeValue(entries)}`
      throw new IdentityConfigError(
        `TrustList: entries must be an iterable of node ids (or { id, label }); got ${what}: for a trust file use TrustList.load(path), for one id [id]`,
        { option: 'entries' },
      )
    }
    let i = 0
    for (const e of entries) {
      try {
        if (typeof e === 'string') this.add(e)
        else this.add(e?.id, e?.label === undefined ? {} : { label: e.label })
      } catch (error) {
        // which entry: the error class and its other fields stay
        if (error instanceof Error) error.message = `entries[${i}]: ${error.message}`
        throw error
      }
      i++
    }
  }

  /**
   * Reads a trust list file; see the class documentation for the format. Rejects with
   * {@link TrustListFileError} for a missing, unreadable, too large or malformed file (more entries
   * than `maxEntries` included), and with an `AbortError` when `signal` aborts.
   */
  static async load(path: string, options: TrustListOptions = {}): Promise<TrustList> {
    const list = new TrustList([], options)
    const entries = await readTrustFile(path, options.signal)
    if (entries.length > list.maxEntries) {
      throw new TrustListFileError(path, 'peers', `has ${entries.length} entries, at most ${list.maxEntries}`)
    }
    for (const e of entries) list.#entries.set(e.id, e)
    return list
  }

  /** Number of trusted ids. */
  get size(): number {
    return this.#entries.size
  }

  /** True when `id` is trusted. */
  has(id: string): boolean {
    return this.#entries.has(id)
  }

  /** Alias of {@link TrustList.has}. */
  contains(id: string): boolean {
    return this.#entries.has(id)
  }

  /** The entry for `id`, if trusted. */
  get(id: string): TrustEntry | undefined {
    return this.#entries.get(id)
  }

  /** A snapshot of every entry, in insertion order. */
  list(): TrustEntry[] {
    return [...this.#entries.values()]
  }

  /** A predicate for `@peer/transport-quic`'s `trust` option, always reading the current list. */
  readonly predicate = (id: string): boolean => this.#entries.has(id)

  /**
   * Trusts `id`. Returns true and emits `trust:added` when the id is new; when it is already
   * trusted only its label is updated, if one is given (no event), and false is returned.
   * Throws `InvalidNodeIdError` for a malformed id, {@link IdentityError} for a bad label and
   * {@link TrustListFullError} when the list is full.
   */
  add(id: string, options: { label?: string } = {}): boolean {
    assertNodeId(id)
    const label = options.label
    if (label !== undefined) checkLabel(label)
    const existing = this.#entries.get(id)
    if (existing !== undefined) {
      if (label !== undefined && label !== existing.label) {
        this.#entries.set(id, Object.freeze({ ...existing, label }))
      }
      return false
    }
    if (this.#entries.size >= this.maxEntries) {
      throw new TrustListFullError(`trust list is full (${this.maxEntries} entries); cannot add ${id}`)
    }
    const entry: TrustEntry = Object.freeze({
      id,
      ...(label === undefined ? {} : { label }),
      addedAt: new Date().toISOString(),
    })
    this.#entries.set(id, entry)
    this.emit('trust:added', { entry })
    return true
  }

  /** Stops trusting `id`. Returns true and emits `trust:removed` when it was trusted. */
  remove(id: string): boolean {
    const entry = this.#entries.get(id)
    if (entry === undefined) return false
    this.#entries.delete(id)
    this.emit('trust:removed', { entry })
    return true
  }

  /** Removes every entry, emitting `trust:removed` for each. */
  clear(): void {
    for (const id of [...this.#entries.keys()]) this.remove(id)
  }

  /**
   * Makes the list equal to `entries`, emitting `trust:removed` for ids that went away and
   * `trust:added` for new ones; kept ids keep their `addedAt` and take the new label (an entry
   * without a label clears it), with no event. Validates everything before changing anything,
   * throwing as `add` does (`TrustListFullError` for more than `maxEntries` ids).
   */
  replace(entries: Iterable<{ id: string; label?: string; addedAt?: string }>): void {
    const next = new Map<string, { id: string; label?: string; addedAt?: string }>()
    for (const e of entries) {
      assertNodeId(e.id)
      if (e.label !== undefined) checkLabel(e.label)
      next.set(e.id, e)
    }
    if (next.size > this.maxEntries) {
      throw new TrustListFullError(
        `trust list is full (${this.maxEntries} entries); cannot hold ${next.size}`,
      )
    }
    for (const id of [...this.#entries.keys()]) if (!next.has(id)) this.remove(id)
    for (const e of next.values()) {
      const existing = this.#entries.get(e.id)
      if (existing !== undefined) {
        this.#entries.set(
          e.id,
          Object.freeze({
            id: existing.id,
            ...(e.label === undefined ? {} : { label: e.label }),
            addedAt: existing.addedAt,
          }),
        )
        continue
      }
      const entry: TrustEntry = Object.freeze({
        id: e.id,
        ...(e.label === undefined ? {} : { label: e.label }),
        addedAt: e.addedAt ?? new Date().toISOString(),
      })
      this.#entries.set(e.id, entry)
      this.emit('trust:added', { entry })
    }
  }

  /** Re-reads `path` and applies the difference with {@link TrustList.replace} (events for each change). */
  async reload(path: string, options: AbortOptions = {}): Promise<void> {
    this.replace(await readTrustFile(path, options.signal))
  }

  /** Writes the list to `path` (atomically: temporary file + rename; mode 0644). */
  async save(path: string, options: AbortOptions = {}): Promise<void> {
    const text = `${JSON.stringify(this.toJSON(), null, 2)}\n`
    try {
      await writeFileAtomic(path, text, { mode: 0o644, dirMode: 0o777, signal: options.signal })
    } catch (error) {
      if (options.signal?.aborted) throw error
      throw new TrustListFileError(path, '', `cannot be written: ${errorMessage(error)}`, { cause: error })
    }
  }

  /** The file representation. */
  toJSON(): { version: number; peers: TrustEntry[] } {
    return { version: TRUST_FILE_VERSION, peers: this.list() }
  }
}

function checkLabel(label: unknown, path?: string, field?: string): asserts label is string {
  const fail = (reason: string) =>
    path === undefined
      ? new IdentityError(`invalid label: ${reason}`)
      : new TrustListFileError(path, field ?? '', reason)
  if (typeof label !== 'string') throw fail(`label must be a string, got ${describeValue(label)}`)
  if (label.length > MAX_LABEL_LENGTH) throw fail(`label is longer than ${MAX_LABEL_LENGTH} characters`)
  if (hasControlChars(label)) throw fail('label contains control characters')
}

async function readTrustFile(path: string, signal: AbortSignal | undefined): Promise<TrustEntry[]> {
  throwIfAborted(signal)
  let text: string
  try {
    const info = await stat(path)
    if (info.size > MAX_TRUST_FILE_BYTES) {
      throw new TrustListFileError(
        path,
        '',
        `file is too large (${info.size} bytes, at most ${MAX_TRUST_FILE_BYTES})`,
      )
    }
    text = await readFile(path, { encoding: 'utf8', signal })
  } catch (error) {
    if (signal?.aborted) throw abortErrorFor(signal)
    if (error instanceof TrustListFileError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new TrustListFileError(
      path,
      '',
      code === 'ENOENT' ? 'file does not exist' : `cannot be read (${code})`,
      {
        cause: error,
      },
    )
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw new TrustListFileError(path, '', `not valid JSON (${errorMessage(error)})`, { cause: error })
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TrustListFileError(path, '', 'must be a JSON object { "version": 1, "peers": [...] }')
  }
  const doc = data as Record<string, unknown>
  if (doc.version !== TRUST_FILE_VERSION) {
    throw new TrustListFileError(
      path,
      'version',
      `must be ${TRUST_FILE_VERSION}, got ${JSON.stringify(doc.version)}`,
    )
  }
  if (!Array.isArray(doc.peers)) throw new TrustListFileError(path, 'peers', 'must be an array')
  const seen = new Set<string>()
  const out: TrustEntry[] = []
  doc.peers.forEach((raw: unknown, i: number) => {
    const field = `peers[${i}]`
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new TrustListFileError(path, field, 'must be an object with an "id"')
    }
    const e = raw as Record<string, unknown>
    if (!isNodeId(e.id)) {
      try {
        assertNodeId(e.id)
      } catch (error) {
        throw new TrustListFileError(path, `${field}.id`, errorMessage(error), { cause: error })
      }
    }
    const id = e.id as string
    if (seen.has(id)) throw new TrustListFileError(path, `${field}.id`, `duplicate id ${id}`)
    seen.add(id)
    if (e.label !== undefined) checkLabel(e.label, path, `${field}.label`)
    let addedAt = new Date().toISOString()
    if (e.addedAt !== undefined) {
      if (typeof e.addedAt !== 'string' || Number.isNaN(Date.parse(e.addedAt))) {
        throw new TrustListFileError(path, `${field}.addedAt`, 'must be an ISO 8601 date string')
      }
      addedAt = e.addedAt
    }
    out.push(Object.freeze({ id, ...(e.label === undefined ? {} : { label: e.label as string }), addedAt }))
  })
  return out
}
