// Publication of a ServerRegistry's names as cluster services: the publisher interface (a PeerNode
// meets it) and the queue that calls it in order, counting failures instead of throwing them.
import {
  type AbortOptions,
  encodeServiceList,
  isServiceName,
  type Logger,
  MAX_SERVICE_NAME_LENGTH,
  raceSignal,
  throwIfAborted,
} from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import { InvalidServerNameError, RegistryConfigError } from './errors.js'

/**
 * What a {@link ServerRegistry} publishes its names through (its `publish` option): `provide` is
 * called with a name when a server is registered under it, `unprovide` when that entry goes away.
 * A `PeerNode` from `@peer/node` meets it (`node.provide` / `node.unprovide` put the name in, and
 * take it out of, the node's discovery record), so `new ServerRegistry({ publish: node })` makes
 * every registered name a service the other members find with `node.providers(name)`.
 *
 * Either method may return a promise. The registry calls them one at a time, in order, and never
 * lets a failure escape: a throw or a rejection is logged at `warn` and counted in
 * `stats.publishErrors` (the server stays registered, its name just is not published).
 */
export interface ServicePublisher {
  /** Starts publishing `name` (a valid service name). */
  provide(name: string): unknown
  /** Stops publishing `name`. */
  unprovide(name: string): unknown
}

/** Checks the `publish` option: undefined, or an object with `provide` and `unprovide` methods. @internal */
export function checkPublisher(value: unknown): ServicePublisher | undefined {
  if (value === undefined) return undefined
  const candidate = value as Partial<ServicePublisher> | null
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.provide !== 'function' ||
    typeof candidate.unprovide !== 'function'
  ) {
    throw new RegistryConfigError(
      'publish must be an object with provide(name) and unprovide(name) methods (a PeerNode, say)',
      { option: 'publish' },
    )
  }
  return candidate as ServicePublisher
}

/**
 * The names a registry publishes and the ordered queue of publisher calls. @internal (used by
 * `ServerRegistry`)
 */
export class PublishQueue {
  readonly #publisher: ServicePublisher
  readonly #log: Logger
  readonly #names = new Set<string>()
  #tail: Promise<void> = Promise.resolve()
  errors = 0

  constructor(publisher: ServicePublisher, log: Logger) {
    this.#publisher = publisher
    this.#log = log
  }

  /**
   * Throws unless `name` can be published next to the names already published: an
   * {@link InvalidServerNameError} for a name outside the service-name grammar, or the
   * `ServiceListTooLargeError` of `@peer/discovery-core` when one node's list would be too large.
   */
  check(name: string): void {
    if (!isServiceName(name)) {
      throw new InvalidServerNameError(
        `server name ${JSON.stringify(String(name).slice(0, 80))} cannot be published as a service (the registry has \`publish\`): a service name is 1-${MAX_SERVICE_NAME_LENGTH} characters of a-z, 0-9, '.', '_', '-', starting with a letter or a digit`,
      )
    }
    encodeServiceList([...this.#names, name])
  }

  provide(name: string): void {
    if (this.#names.has(name)) return
    this.#names.add(name)
    this.#enqueue('provide', name)
  }

  unprovide(name: string): void {
    if (!this.#names.delete(name)) return
    this.#enqueue('unprovide', name)
  }

  /** Resolves once every call queued so far has settled (never rejects on a publisher failure). */
  async settled(options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    await raceSignal(this.#tail, options.signal)
  }

  #enqueue(operation: 'provide' | 'unprovide', name: string): void {
    // the catch is for a logger that throws: the tail itself must never reject
    this.#tail = this.#tail.then(() => this.#call(operation, name)).catch(() => {})
  }

  // never rejects: the queue must keep going, and nothing may escape as an unhandled rejection
  async #call(operation: 'provide' | 'unprovide', name: string): Promise<void> {
    try {
      await this.#publisher[operation](name)
      this.#log.debug(operation === 'provide' ? 'published' : 'unpublished', { name })
    } catch (error) {
      this.errors++
      this.#log.warn(`publisher ${operation} failed`, { name, error: errorMessage(error) })
    }
  }
}
