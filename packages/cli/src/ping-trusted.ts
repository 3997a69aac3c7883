// `peer ping --trusted`: every peer of the trust list at once, the network half of `peer start
// --check`. For each, whether this identity reaches it (and one round trip), or where it stands
// in the node's own words: not discovered by any backend, discovered but its dials fail (and the
// last dial's error), at an address where another node answers, or refusing this identity.
import { formatHostPort, shortId } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import type { TrustList } from '@peer/identity'
import type { PeerNode } from '@peer/node'
import { refusedUs, watchDecisiveDials } from './dial-verdict.js'
import { CliError } from './errors.js'
import type { Output } from './output.js'
import { roundMs } from './ping-timing.js'

/** Limits of {@link pingTrusted}. */
export interface PingTrustedOptions {
  /** Time limit to find and connect to each peer, ms (they are waited for together). */
  connectTimeoutMs: number
  /** Time limit of the one ping to each reachable peer, ms. */
  timeoutMs: number
  /** Print only the peers out of reach (and the summary). */
  quiet: boolean
  /** Ctrl-C. */
  signal: AbortSignal
}

/**
 * Waits for every peer of `trust.configured` but `node` itself, pings each one that comes up
 * once, and prints one `reachable` (unless `quiet`) or `unreachable` event per peer, then a
 * `summary`. Rejects with a `CliError` when any is unreachable (the exit code says whether the
 * whole cluster is in reach).
 * `trust.live` is the node's trust list, empty at the call: the peers are added to it once their
 * dial failures are listened to (a failure at the node's start would otherwise go unseen).
 */
export async function pingTrusted(
  node: PeerNode,
  trust: { configured: TrustList; live: TrustList },
  options: PingTrustedOptions,
  out: Output,
): Promise<void> {
  const entries = trust.configured.list().filter((e) => e.id !== node.id)
  if (entries.length === 0) {
    throw new CliError(
      'the trust list names no peer but this node: nothing to ping (add ids with --trust or a trust file)',
    )
  }
  // a dial another dial would repeat ends the wait for that peer at once, with its reason
  const waits = new Map<string, { stop: AbortController; decisive?: Error }>()
  const unwatch = watchDecisiveDials(node, (id, error) => {
    const wait = waits.get(id)
    if (wait === undefined) return
    wait.decisive = error
    wait.stop.abort()
  })
  for (const { id } of entries) waits.set(id, { stop: new AbortController() })
  trust.live.replace(entries)
  let reachable = 0
  try {
    await Promise.all(
      entries.map(async ({ id, label }) => {
        const wait = waits.get(id)!
        const who = (hello?: string) => {
          const name = hello ?? node.discovery?.get(id)?.name ?? label
          return name === undefined ? shortId(id) : `${name} ${shortId(id)}`
        }
        try {
          const info = await node.waitForPeer(id, {
            timeoutMs: options.connectTimeoutMs,
            signal: AbortSignal.any([options.signal, wait.stop.signal]),
          })
          const rtt = await node.ping(id, { timeoutMs: options.timeoutMs, signal: options.signal })
          reachable++
          if (options.quiet) return
          const address = formatHostPort(info.address.host, info.address.port)
          out.event(
            'reachable',
            { id, label, name: info.name, address, rtt: roundMs(rtt) },
            `ok    ${who(info.name)} at ${address}: rtt ${roundMs(rtt)} ms`,
          )
        } catch (error) {
          if (options.signal.aborted) return
          const cause = wait.decisive ?? error
          const fix = cause instanceof Error && refusedUs(cause) ? ` (add ${node.id} to its trust list)` : ''
          out.event(
            'unreachable',
            { id, label, error: `${errorMessage(cause)}${fix}` },
            `FAIL  ${who()}: ${errorMessage(cause)}${fix}`,
          )
        }
      }),
    )
  } finally {
    unwatch()
  }
  if (options.signal.aborted) throw new CliError('interrupted')
  out.event(
    'summary',
    { trusted: entries.length, reachable },
    `${reachable} of ${entries.length} trusted peers reachable`,
  )
  if (reachable < entries.length) {
    throw new CliError(`${entries.length - reachable} of ${entries.length} trusted peers are not reachable`)
  }
}
