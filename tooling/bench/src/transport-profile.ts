// Ad-hoc profiling helper for the transport (not a suite): runs one scenario in this process,
// client and server both, so `node --cpu-prof` sees the whole path.
//   tsx --conditions=@peer/source src/transport-profile.ts quic-messages|raw-messages|quic-bulk|raw-bulk
import { generateIdentity } from '@peer/identity'
import { MODE_ECHO, MODE_SINK, makeClients, rawStream, readReport, startServers } from './transport-stacks.js'

const scenario = process.argv[2] ?? 'quic-messages'
const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
const tuning = JSON.parse(process.env.PEER_TUNING ?? '{}')
const servers = await startServers(a, b.id, '127.0.0.1', tuning)
const clients = makeClients(b, tuning)
const t = performance.now()
if (scenario === 'quic-latency') {
  const conn = await clients.quic(servers.quic, a.id)
  const ch = await conn.openChannel()
  await ch.send(Uint8Array.of(MODE_ECHO))
  const samples: number[] = []
  const req = Buffer.alloc(64)
  for (let i = 0; i < 3000; i++) {
    const t0 = performance.now()
    await ch.send(req)
    await ch.receive()
    samples.push((performance.now() - t0) * 1000)
  }
  samples.sort((x, y) => x - y)
  console.log(scenario, `p50 ${samples[1500]?.toFixed(0)} us p99 ${samples[2970]?.toFixed(0)} us`)
} else if (scenario === 'raw-latency') {
  const conn = await clients.raw(servers.raw, a.id)
  const { w, r: rd } = await rawStream(conn, MODE_ECHO)
  const req = Buffer.alloc(68)
  req.writeUInt32BE(64, 0)
  const samples: number[] = []
  for (let i = 0; i < 3000; i++) {
    const t0 = performance.now()
    await w.write(req)
    let got = 0
    while (got < 68) got += (await rd.read()).value?.byteLength ?? 68
    samples.push((performance.now() - t0) * 1000)
  }
  samples.sort((x, y) => x - y)
  console.log(scenario, `p50 ${samples[1500]?.toFixed(0)} us p99 ${samples[2970]?.toFixed(0)} us`)
} else if (scenario.startsWith('quic')) {
  const conn = await clients.quic(servers.quic, a.id)
  const ch = await conn.openChannel()
  await ch.send(Uint8Array.of(MODE_SINK))
  const msg = Buffer.alloc(scenario.endsWith('bulk') ? 65536 : 64)
  const n = scenario.endsWith('bulk') ? 1024 : 300_000
  const t0 = performance.now()
  for (let i = 0; i < n; i++) await ch.send(msg)
  await ch.close()
  const r = readReport((await ch.receive())!)
  const s = (performance.now() - t0) / 1000
  console.log(scenario, r, `${(n / s).toFixed(0)} msg/s ${(r.bytes / s / 1e6).toFixed(1)} MB/s`)
} else {
  const conn = await clients.raw(servers.raw, a.id)
  const { w, r: rd } = await rawStream(conn, MODE_SINK)
  const block = Buffer.alloc(65536)
  const t0 = performance.now()
  for (let i = 0; i < 1024; i++) await w.write(block)
  await w.close()
  const got = await rd.read()
  const s = (performance.now() - t0) / 1000
  console.log(scenario, readReport(got.value!), `${((1024 * 65536) / s / 1e6).toFixed(1)} MB/s`)
}
console.log('total ms', performance.now() - t)
await servers.close()
await clients.transport.close()
