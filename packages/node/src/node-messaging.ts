// PeerNode's messaging over peer links: send, request (to a peer or to a service's providers),
// broadcast, ping and byte streams. Each finds the peer's link (or dials it on first use) within
// the call's one timeout; a connected peer's link is used in the same tick as the call, so what is
// queued before a stop() is drained.

import { ConfigError, throwIfAborted } from '@peer/discovery-core'
import { MessageTooLargeError } from './errors.js'
import { priorityClass } from './lanes.js'
import type { NodeMetrics } from './metrics.js'
import { checkTopic } from './node-handlers.js'
import type { NodeLinks } from './node-links.js'
import { callTimeout, type NodeLimits } from './node-options.js'
import { checkPayload } from './payload-check.js'
import { PeerLink } from './peer-link.js'
import type { ServiceDirectory, ServiceTarget } from './services.js'
import type { PeerStream } from './stream-registry.js'
import type { OpenStreamOptions, RequestOptions, SendOptions } from './types.js'

/** What messaging uses of its node. @internal */
export interface MessagingHost {
  readonly links: NodeLinks
  readonly limits: NodeLimits
  readonly services: ServiceDirectory
  /** The node's instruments, when metrics are on. */
  metrics(): NodeMetrics | undefined
  /** Throws `NodeStoppedError` unless the node is started. */
  assertStarted(): void
}

/** The bodies of PeerNode's messaging methods (documented there). @internal */
export class NodeMessaging {
  readonly #h: MessagingHost

  constructor(host: MessagingHost) {
    this.#h = host
  }

  async openStream(peer: string, topic: string, options: OpenStreamOptions): Promise<PeerStream> {
    checkTopic(topic)
    throwIfAborted(options.signal)
    const found = this.#h.links.linkFor(peer, this.#h.limits.requestTimeout, options.signal)
    const link = found instanceof PeerLink ? found : await found
    return link.openStream(topic, options.signal)
  }

  // not `async`: a connected peer's send is the lane's own promise (two fewer promises and turns
  // per message, which showed in profiles of small-message floods); errors still reject
  send(peer: string, topic: string, payload: unknown, options: SendOptions): Promise<void> {
    try {
      checkTopic(topic)
      throwIfAborted(options.signal)
      if (options.priority !== undefined) priorityClass(options.priority)
      const found = this.#h.links.linkFor(peer, this.#h.limits.requestTimeout, options.signal)
      if (found instanceof PeerLink) return found.send(topic, payload, options.priority)
      return found.then((link) => link.send(topic, payload, options.priority))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  async request(
    peer: string | ServiceTarget,
    topic: string,
    payload: unknown,
    options: RequestOptions,
  ): Promise<unknown> {
    checkTopic(topic)
    const timeout = callTimeout(options, this.#h.limits.requestTimeout, 'request')
    if (options.priority !== undefined) priorityClass(options.priority)
    if (typeof peer === 'object' && peer !== null) {
      if (typeof (peer as Partial<ServiceTarget>).service !== 'string') {
        throw new ConfigError(
          'request: the target is a node id, a node name or { service: name }; got an object without `service`',
          { option: 'peer' },
        )
      }
      this.#h.assertStarted()
      const { signal, priority } = options
      return await this.#h.services.request(peer, topic, payload, { signal, priority, timeoutMs: timeout })
    }
    const startedAt = performance.now()
    try {
      const found = this.#h.links.linkFor(peer, timeout, options.signal)
      const link = found instanceof PeerLink ? found : await found
      // a dial on first use took part of the one timeout
      const left = Math.max(1, Math.ceil(timeout - (performance.now() - startedAt)))
      const answer = await link.request(topic, payload, left, options.signal, options.priority)
      this.#h.metrics()?.requestDone(startedAt)
      return answer
    } catch (error) {
      this.#h.metrics()?.requestDone(startedAt, error)
      throw error
    }
  }

  async broadcast(topic: string, payload: unknown, options: SendOptions): Promise<number> {
    checkTopic(topic)
    throwIfAborted(options.signal)
    if (options.priority !== undefined) priorityClass(options.priority)
    this.#h.assertStarted()
    // a payload no peer could get fails the call, not each send silently
    if (!(payload instanceof Uint8Array)) checkPayload(payload)
    const results = await Promise.allSettled(
      [...this.#h.links.links.values()].map((l) => l.send(topic, payload, options.priority)),
    )
    const sent = results.filter((r) => r.status === 'fulfilled').length
    const tooLarge = results.find((r) => r.status === 'rejected' && r.reason instanceof MessageTooLargeError)
    if (sent === 0 && tooLarge !== undefined) throw (tooLarge as PromiseRejectedResult).reason
    return sent
  }

  async ping(peer: string, options: RequestOptions): Promise<number> {
    const timeout = callTimeout(options, this.#h.limits.requestTimeout, 'ping')
    const startedAt = performance.now()
    const found = this.#h.links.linkFor(peer, timeout, options.signal)
    const link = found instanceof PeerLink ? found : await found
    return link.ping(Math.max(1, Math.ceil(timeout - (performance.now() - startedAt))), options.signal)
  }
}
