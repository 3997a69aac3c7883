import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createTransport } from '@peer/transport-quic'
import { createNode } from './src/index.js'

const N = 50_000
const R = 2000
const payload = new Uint8Array(64)
const pct = (xs: number[], p: number) => xs.sort((x, y) => x - y)[Math.floor((xs.length - 1) * p)]!

async function raw() {
  const [i1, i2] = await Promise.all([generateIdentity(), generateIdentity()])
  const t1 = createTransport({ identity: i1, trust: () => true })
  const t2 = createTransport({ identity: i2, trust: () => true })
  const l = await t2.listen({ host: '127.0.0.1', port: 0 })
  const accepted = new Promise<any>((r) =>
    l.addEventListener('connection', (e: any) => r(e.detail.connection)),
  )
  const c1 = await t1.dial(l.address, { expectedId: i2.id })
  const c2 = await accepted
  const out1 = await c1.openChannel()
  await out1.send(new Uint8Array(1))
  await out1.flush()
  const in2 = await c2.acceptChannel()
  await in2.receive()
  const out2 = await c2.openChannel()
  await out2.send(new Uint8Array(1))
  await out2.flush()
  const in1 = await c1.acceptChannel()
  await in1.receive()
  // throughput
  let t0 = performance.now()
  const got = (async () => {
    for (let k = 0; k < N; k++) await in2.receive()
  })()
  for (let k = 0; k < N; k++) await out1.send(payload)
  await out1.flush()
  await got
  const rate = N / ((performance.now() - t0) / 1000)
  // echo loop on 2
  void (async () => {
    for (;;) {
      const m = await in2.receive()
      if (!m) return
      await out2.send(m)
      await out2.flush()
    }
  })()
  const lat: number[] = []
  for (let k = 0; k < R; k++) {
    t0 = performance.now()
    await out1.send(payload)
    await out1.flush()
    await in1.receive()
    lat.push(performance.now() - t0)
  }
  await t1.close()
  await t2.close()
  return { rate, p50: pct(lat, 0.5), p99: pct(lat, 0.99) }
}

async function node() {
  const [i1, i2] = await Promise.all([generateIdentity(), generateIdentity()])
  const d1 = new StaticDiscovery(),
    d2 = new StaticDiscovery()
  const a = await createNode({
    identity: i1,
    trust: [i2.id],
    discovery: d1,
    name: 'a@localhost',
    maxQueuedMessages: 100_000,
  })
  const b = await createNode({ identity: i2, trust: [i1.id], discovery: d2, name: 'b@localhost' })
  d1.add({ id: b.id, addresses: [b.address] })
  d2.add({ id: a.id, addresses: [a.address] })
  await a.waitForPeer(b.id)
  let n = 0
  let done!: () => void
  const all = new Promise<void>((r) => (done = r))
  b.handle('t', () => {
    if (++n === N) done()
  })
  b.handle('echo', (x) => x)
  let t0 = performance.now()
  for (let k = 0; k < N; k++) await a.send(b.id, 't', payload)
  await all
  const rate = N / ((performance.now() - t0) / 1000)
  const lat: number[] = []
  for (let k = 0; k < R; k++) {
    t0 = performance.now()
    await a.request(b.id, 'echo', payload)
    lat.push(performance.now() - t0)
  }
  await a.stop()
  await b.stop()
  return { rate, p50: pct(lat, 0.5), p99: pct(lat, 0.99) }
}

for (let run = 0; run < 3; run++) {
  const r = await raw()
  const n = await node()
  console.log(
    JSON.stringify({
      run,
      raw: r,
      node: n,
      rateRatio: n.rate / r.rate,
      p50Ratio: n.p50 / r.p50,
      p99Ratio: n.p99 / r.p99,
    }),
  )
}
