// Ad-hoc profiling helper for the transport (not a suite): runs one scenario of one stack with the
// client and the server in this process, so `node --cpu-prof` sees the whole path.
//   node --cpu-prof --conditions=@peer/source --import tsx src/transport-profile.ts <stack> bulk|messages|latency|connect|close [seconds]
// <stack>: peer-quinn, peer-matrixai, raw-quinn, raw-matrixai, tls. The scenario repeats for `seconds`
// (default: once), so start-up (module loading) weighs little in the profile. Note that quinn does
// its packet work on Rust threads, which a V8 CPU profile does not see (they show as idle time).
import { generateIdentity } from '@peer/identity'
import { percentile } from './bench-stats.js'
import { bulk, echo, messages } from './stack-ops.js'
import { clientPins, makeClients, STACKS, type StackName, startServers } from './transport-stacks.js'

const stack = (process.argv[2] ?? 'peer-quinn') as StackName
const scenario = process.argv[3] ?? 'bulk'
if (!STACKS.includes(stack)) throw new Error(`unknown stack ${stack}; one of ${STACKS.join(', ')}`)
const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
const tuning = JSON.parse(process.env.PEER_TUNING ?? '{}')
const servers = await startServers(a, clientPins(b), '127.0.0.1', tuning)
const clients = makeClients(b, tuning)
const conn = await clients.connect(stack, servers.endpoints[stack])
const seconds = Number(process.argv[4] ?? 0)
const t = performance.now()
do {
  if (scenario === 'connect') {
    const ms: number[] = []
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now()
      const c = await clients.connect(stack, servers.endpoints[stack])
      ms.push(performance.now() - t0)
      await c.close()
    }
    ms.sort((x, y) => x - y)
    console.log(stack, scenario, `p50 ${percentile(ms, 0.5).toFixed(2)} ms`)
  } else if (scenario === 'close') {
    const conns = []
    for (let i = 0; i < 200; i++) conns.push(await clients.connect(stack, servers.endpoints[stack]))
    const t0 = performance.now()
    await Promise.all(conns.map((c) => c.close()))
    console.log(stack, scenario, `200 in ${(performance.now() - t0).toFixed(1)} ms`)
  } else if (scenario === 'latency') {
    const samples: number[] = []
    await echo(conn, 3000, samples)
    samples.sort((x, y) => x - y)
    console.log(
      stack,
      scenario,
      `p50 ${percentile(samples, 0.5).toFixed(0)} us p99 ${percentile(samples, 0.99).toFixed(0)} us`,
    )
  } else if (scenario === 'messages') {
    console.log(stack, scenario, `${(await messages(conn, 500_000)).toFixed(0)} msg/s`)
  } else {
    console.log(stack, scenario, `${(await bulk(conn, 256 * 1024 * 1024)).toFixed(1)} MB/s`)
  }
} while (performance.now() - t < seconds * 1000)
const cpu = process.cpuUsage()
console.log('process CPU ms', ((cpu.user + cpu.system) / 1000).toFixed(0))
console.log('total ms', (performance.now() - t).toFixed(0), 'engines', clients.engines)
await conn.close()
await clients.close()
await servers.close()
