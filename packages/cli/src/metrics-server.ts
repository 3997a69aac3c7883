// `peer start --metrics <host:port>`: the node's OpenTelemetry instruments served as Prometheus
// text by the official exporter (@opentelemetry/exporter-prometheus over @opentelemetry/sdk-metrics),
// on an HTTP server this module owns (so it binds exactly the address given, reports a port in
// use by name, and closes within a bound). The OpenTelemetry packages load only when asked for.
import { createServer, type Server } from 'node:http'
import { isIP } from 'node:net'
import { formatHostPort, isLoopbackHost } from '@peer/discovery-core'
import { quote, settleWithin } from '@peer/discovery-core/internal'
import type { MeterProviderLike } from '@peer/node'
import { CliError, UsageError } from './errors.js'

/** Where the metrics are served. */
export interface MetricsAddress {
  readonly host: string
  readonly port: number
}

/** The path Prometheus scrapes. */
export const METRICS_PATH = '/metrics'

/**
 * Parses `--metrics <host:port>` (`127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`; port 0 picks a
 * free port). The host must be an IP address (or `localhost`): nothing is resolved. A
 * non-loopback address is refused unless `allowRemote` (`--metrics-allow-remote`): the endpoint
 * has no authentication, so exposing it is a decision, not a default.
 */
export function parseMetricsAddress(value: string, allowRemote = false): MetricsAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim())
  if (m === null)
    throw new UsageError(
      `--metrics: expected <host:port> (e.g. 127.0.0.1:9464 or [::1]:9464), got ${quote(value)}`,
    )
  const rawHost = (m[1] ?? m[2])!
  const host = rawHost === 'localhost' ? '127.0.0.1' : rawHost
  const port = Number(m[3])
  if (port > 65535) throw new UsageError(`--metrics: port ${port} is out of range (0-65535)`)
  if (isIP(host) === 0)
    throw new UsageError(`--metrics: ${quote(rawHost)} is not an IP address (nor localhost)`)
  if (!allowRemote && !isLoopbackHost(host))
    throw new UsageError(
      `--metrics: refusing to serve metrics on ${formatHostPort(host, port)}, which is not a loopback address: ` +
        'the endpoint has no authentication. Pass --metrics-allow-remote to expose it anyway.',
    )
  return { host, port }
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** Give this to `createNode({ metrics: { meterProvider } })`. */
  readonly meterProvider: MeterProviderLike
  /** The bound address (the real port when 0 was asked for). */
  readonly address: MetricsAddress
  /** `http://host:port/metrics`. */
  readonly url: string
  /** Stops serving and shuts the SDK down, within `timeoutMs`. Idempotent. */
  close(timeoutMs?: number): Promise<void>
}

/** Starts the exporter and its HTTP server on `address`. Throws `CliError` when it cannot bind. */
export async function startMetricsServer(address: MetricsAddress): Promise<MetricsServer> {
  const [{ MeterProvider }, { PrometheusExporter }] = await Promise.all([
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/exporter-prometheus'),
  ])
  const exporter = new PrometheusExporter({ preventServerStart: true })
  const provider = new MeterProvider({ readers: [exporter] })
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path === METRICS_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      exporter.getMetricsRequestHandler(req, res)
      return
    }
    res.statusCode = path === METRICS_PATH ? 405 : 404
    res.end(path === METRICS_PATH ? 'method not allowed\n' : `not found: metrics are at ${METRICS_PATH}\n`)
  })
  server.on('clientError', (_error, socket) => socket.destroy())
  try {
    await listen(server, address)
  } catch (error) {
    await provider.shutdown().catch(() => {})
    const where = formatHostPort(address.host, address.port)
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE')
      throw new CliError(
        `cannot serve metrics on ${where}: port ${address.port} is in use (pick another port with --metrics <host:port>)`,
        { cause: error },
      )
    throw new CliError(`cannot serve metrics on ${where}: ${(error as Error).message}`, { cause: error })
  }
  const bound = server.address()
  const port = typeof bound === 'object' && bound !== null ? bound.port : address.port
  let closing: Promise<void> | undefined
  return {
    meterProvider: provider,
    address: { host: address.host, port },
    url: `http://${formatHostPort(address.host, port)}${METRICS_PATH}`,
    close(timeoutMs = 2000) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        const done = Promise.all([closed, provider.shutdown().catch(() => {})])
        await settleWithin(done, timeoutMs)
      })()
      return closing
    },
  }
}

function listen(server: Server, { host, port }: MetricsAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once('error', onError)
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError)
      resolve()
    })
  })
}
