import { formatHostPort, shortId } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import type { PeerNode } from '@peer/node'
import { CliError } from './errors.js'
import type { Output } from './output.js'
import { pause, roundMs, rttSummary } from './ping-timing.js'

/** Options of {@link pingService}. */
export interface PingServiceOptions {
  count: number
  /** Pause between pings, ms. */
  intervalMs: number
  /** Time limit of one ping, ms. */
  timeoutMs: number
  /** Time limit to find a provider and connect to one, ms. */
  connectTimeoutMs: number
  signal: AbortSignal
}

/**
 * `peer ping service:<name>`: waits for a provider of `service` to be known and one to be
 * connected, then sends each ping to the provider `request({ service })` would pick, failing over
 * to the next one when a provider is unavailable; prints which provider answered each ping.
 */
export async function pingService(
  node: PeerNode,
  service: string,
  options: PingServiceOptions,
  out: Output,
): Promise<void> {
  const { signal } = options
  // loaded here, not at the top: every `peer` command imports this module (already loaded here)
  const { PeerUnavailableError } = await import('@peer/node')
  const deadline = Date.now() + options.connectTimeoutMs
  const label = (id: string) =>
    node.peer(id)?.name ?? node.knownPeers().find((p) => p.id === id)?.name ?? shortId(id)
  // a provider known (its record lists the service), then one connected
  while (node.providers(service).length === 0) {
    if (signal.aborted) throw new CliError('interrupted')
    if (Date.now() >= deadline) {
      throw new CliError(
        `no provider of service "${service}" is known after ${options.connectTimeoutMs} ms ` +
          '(does a trusted node provide it, e.g. `peer start --provide ' +
          `${service}\`, and do the configured discovery backends report it? A static peer list carries ` +
          'services as meta.services)',
      )
    }
    await pause(100, signal)
  }
  while (!node.providers(service).some((id) => node.peer(id) !== undefined)) {
    if (signal.aborted) throw new CliError('interrupted')
    if (Date.now() >= deadline) {
      const ids = node.providers(service)
      throw new CliError(
        `cannot reach any of the ${ids.length} providers of service "${service}" (${ids.map(label).join(', ')}) ` +
          `within ${options.connectTimeoutMs} ms (do they run, and do they trust this identity?)`,
      )
    }
    await pause(100, signal)
  }
  const providers = node.providers(service, { ordered: true }).map((id) => ({
    id,
    name: label(id),
    connected: node.peer(id) !== undefined,
  }))
  out.event(
    'providers',
    { service, providers },
    `PING service:${service}: ${providers.length} provider${providers.length === 1 ? '' : 's'} (${providers
      .map((p) => `${p.name}${p.connected ? '' : ' (not connected)'}`)
      .join(', ')})`,
  )
  const rtts: number[] = []
  const answeredBy: Record<string, number> = {}
  let sent = 0
  for (let seq = 1; seq <= options.count && !signal.aborted; seq++) {
    sent += 1
    let answered = false
    const tried: string[] = []
    for (const id of node.providers(service, { ordered: true })) {
      tried.push(id)
      try {
        const rtt = await node.ping(id, { timeoutMs: options.timeoutMs, signal })
        const info = node.peer(id)
        const address = info === undefined ? undefined : formatHostPort(info.address.host, info.address.port)
        rtts.push(rtt)
        answeredBy[id] = (answeredBy[id] ?? 0) + 1
        out.event(
          'reply',
          { seq, service, id, name: info?.name, address, rtt: roundMs(rtt), tried: tried.length },
          `reply from ${label(id)} ${id}${address === undefined ? '' : ` at ${address}`} (service:${service}): seq=${seq} rtt=${roundMs(rtt)} ms`,
        )
        answered = true
      } catch (error) {
        if (signal.aborted) break
        if (error instanceof PeerUnavailableError) {
          out.event(
            'failover',
            { seq, service, id, error: errorMessage(error) },
            `provider ${label(id)} unavailable (${errorMessage(error)}); trying the next`,
          )
          continue
        }
        // like request({ service }): an error other than "unavailable" is the answer
        out.event(
          'timeout',
          { seq, service, id, error: errorMessage(error) },
          `no reply from ${label(id)} (service:${service}): seq=${seq} (${errorMessage(error)})`,
        )
        answered = true
      }
      break
    }
    if (!answered && !signal.aborted) {
      out.event(
        'unavailable',
        { seq, service, tried },
        `no provider of service:${service} was available: seq=${seq} (${tried.length} tried)`,
      )
    }
    if (seq < options.count) await pause(options.intervalMs, signal)
  }
  const summary = {
    service,
    sent,
    received: rtts.length,
    answeredBy,
    ...rttSummary(rtts),
  }
  out.event(
    'summary',
    summary,
    `${sent} sent, ${rtts.length} received${rtts.length ? `, rtt min/avg/max = ${summary.min}/${summary.avg}/${summary.max} ms` : ''}; answered by ${
      Object.entries(answeredBy)
        .map(([id, n]) => `${label(id)} ${n}`)
        .join(', ') || 'none'
    }`,
  )
  if (rtts.length === 0) throw new CliError(`no reply from any provider of service "${service}"`)
}
