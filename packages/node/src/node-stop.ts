// The stop sequence of a PeerNode: refuse, withdraw and drain, then close everything at once,
// within one deadline.

import type { Discovery, Logger } from '@peer/discovery-core'
import { errorMessage, settleWithin } from '@peer/discovery-core/internal'
import type { PeerRegistry } from '@peer/registry'
import type { Connection, Listener, Transport } from '@peer/transport-quic'
import type { ConnectionPolicy } from './connection-policy.js'
import { NodeStoppedError } from './errors.js'
import type { NodeMetrics } from './metrics.js'
import type { NodeLinks } from './node-links.js'

/** What the stop sequence closes (read when it gets there: `start()` may still be running). @internal */
export interface TeardownContext {
  readonly log: Logger
  readonly links: NodeLinks
  readonly policy: ConnectionPolicy
  /** The node's unsubscribers, run (and emptied) once the links are finished. */
  readonly unsubscribe: Array<() => void>
  listener(): Listener | undefined
  registry(): PeerRegistry<Connection> | undefined
  discovery(): Discovery | undefined
  transport(): Transport | undefined
  metrics(): NodeMetrics | undefined
}

/** How long `stop()` waits for discovery to withdraw the announcement. */
const WITHDRAW_MS = 1000
/** The most of the stop deadline kept for closing (after the drain). */
const CLOSE_RESERVE_MS = 1000
/** How long `stop()` waits for queued messages to be flushed and channels finished. */
const FINISH_MS = 500
/** How long `stop()` waits for the closed connections to report closed (see teardown). */
const CLOSE_LINGER_MS = 250

/**
 * The stop sequence of a node (see PeerNode.stop): refuse, withdraw and drain, then fail what is
 * left and close everything at once, every wait bounded by `timeout`. An aborted `signal` ends
 * the deadline at once: what is still waited for is given up, and everything closes. @internal
 */
export async function teardown(ctx: TeardownContext, timeout: number, signal?: AbortSignal): Promise<void> {
  const deadline = performance.now() + timeout
  const left = () => (signal?.aborted === true ? 0 : Math.max(0, deadline - performance.now()))
  const bounded = <T>(promise: Promise<T>, ms: number) => settleWithin(promise, ms, { signal })
  // 1. refuse: nothing new comes in or is dialed
  ctx.listener()?.stopAccepting('shutdown')
  ctx.registry()?.stopDialing()
  // 2. withdraw and drain, keeping part of the deadline for the close
  const discovery = ctx.discovery()
  const links = [...ctx.links.links.values()]
  const withdrawn = discovery?.started
    ? bounded(discovery.withdraw(), WITHDRAW_MS).catch((error: unknown) =>
        ctx.log.debug('withdraw failed', { error: errorMessage(error) }),
      )
    : undefined
  const reserve = Math.min(CLOSE_RESERVE_MS, timeout / 4)
  await bounded(Promise.all([withdrawn, ...links.map((l) => l.whenIdle())]), left() - reserve)
  // 3. fail what is left, finish our channels, close everything at once
  const stopped = new NodeStoppedError('the node stopped')
  for (const link of [...links, ...ctx.links.opening.values()]) link.close(stopped)
  await bounded(Promise.all(links.map((l) => l.finish(FINISH_MS))), Math.min(FINISH_MS, left()))
  for (const off of ctx.unsubscribe.splice(0)) off()
  ctx.policy.close()
  const closing = Promise.allSettled([
    ctx.registry()?.stop({ timeoutMs: left(), ...(signal === undefined ? {} : { signal }) }),
    ctx.listener()?.close('shutdown'),
    ctx.transport()?.close('shutdown'),
  ]).then((results) => {
    for (const r of results) {
      if (r.status === 'rejected') ctx.log.warn('closing failed', { error: errorMessage(r.reason) })
    }
  })
  const discoveryStopped = discovery
    ?.stop()
    .catch((error: unknown) => ctx.log.warn('discovery failed to stop', { error: errorMessage(error) }))
  for (const link of links) ctx.links.down(link, 'shutdown')
  // the CONNECTION_CLOSE frames go out at once, but the engine reports a connection closed only
  // after QUIC's closing period (3 PTO, seconds under load) and releases its UDP socket after
  // that, in the background: wait for it only briefly. Discovery gets the rest of the deadline.
  const linger = Math.min(CLOSE_LINGER_MS, left())
  await Promise.all([
    bounded(Promise.all([closing, ...links.map((l) => l.reading.catch(() => {}))]), linger),
    bounded(Promise.resolve(discoveryStopped), left()),
  ])
  ctx.metrics()?.close()
}
