// Two nodes in one process; one exports its metrics to an OpenTelemetry SDK MeterProvider, read
// here with a pull reader (use a Prometheus or OTLP exporter in production).
// Run: node examples/metrics.mjs (needs @peer/node, @peer/identity, @peer/discovery-static,
// @opentelemetry/api and @opentelemetry/sdk-metrics installed)
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode } from '@peer/node'

class PullReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
const reader = new PullReader()
const meterProvider = new MeterProvider({ readers: [reader] })

const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
const trust = [ia.id, ib.id]
const da = new StaticDiscovery()
const db = new StaticDiscovery()
const a = await createNode({
  name: 'a@localhost',
  identity: ia,
  trust,
  discovery: da,
  metrics: { meterProvider },
})
const b = await createNode({ name: 'b@localhost', identity: ib, trust, discovery: db, metrics: false })
try {
  da.add({ id: b.id, name: b.name, addresses: [b.address] })
  db.add({ id: a.id, name: a.name, addresses: [a.address] })
  b.handle('echo', (payload) => payload)
  await a.waitForPeer('b')
  await a.request('b', 'echo', 'hello')

  const { resourceMetrics } = await reader.collect()
  const find = (name) =>
    resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name)
  const sum = (name) =>
    (find(name)?.dataPoints ?? []).reduce(
      (n, p) => n + (typeof p.value === 'number' ? p.value : p.value.count),
      0,
    )
  console.log(`peers up: ${sum('peer.node.peers')}`)
  console.log(`requests timed: ${sum('peer.node.request.duration')}`)
  console.log(`discovered via static: ${sum('peer.discovery.events')}`)
  console.log(`messages sent > 0: ${sum('peer.node.messages.sent') > 0}`)
} finally {
  await Promise.all([a.stop(), b.stop()])
  await meterProvider.shutdown()
}
