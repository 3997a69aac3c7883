import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode } from '@peer/node'
const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
const da = new StaticDiscovery()
const b = await createNode({ identity: ib, trust: [ia.id] })
const a = await createNode({ identity: ia, trust: [ib.id], discovery: da })
da.add({ id: b.id, name: b.name, addresses: [b.address] })
await a.waitForPeer(b.id)
for (const round of [1, 2, 3]) {
  const n = Number(process.env.N ?? 50_000)
  let got = 0
  let done!: () => void
  const all = new Promise<void>((r) => (done = r))
  const off = b.handle('rate', () => { if (++got === n) done() })
  const t = performance.now()
  for (let i = 0; i < n; i++) await a.send(b.id, 'rate', i, { priority: (process.env.PRIO ?? 'normal') as never })
  const sent = performance.now() - t
  await all
  off()
  console.log(process.argv[2], 'round', round, 'msg/s', Math.round(n / ((performance.now() - t) / 1000)), 'send loop ms', Math.round(sent))
}
await Promise.all([a.stop(), b.stop()])
