// Run: node examples/ping-trusted.mjs
// `peer ping --trusted` from code: two nodes run in this process and trust an operator identity;
// the operator trusts them and a third id, listed at node1's address (a stale entry). One call
// answers "which of my trusted peers can I reach, and why not the others" (it rejects when any is
// unreachable; a wrong id at an address is known at the first dial, not after the timeout).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ping } from '@peer/cli'
import { generateIdentity, saveIdentity } from '@peer/identity'
import { createNode } from '@peer/node'

const dir = await mkdtemp(join(tmpdir(), 'peer-ping-'))
const [operator, ...identities] = await Promise.all([1, 2, 3].map(() => generateIdentity()))
const stale = (await generateIdentity()).id // trusted, but no node has it
await saveIdentity(operator, join(dir, 'operator'))
const nodes = await Promise.all(
  identities.map((identity, i) =>
    createNode({ name: `node${i + 1}@localhost`, identity, trust: [operator.id] }),
  ),
)
const lines = []
const io = { stdout: { write: (text) => lines.push(text) }, stderr: { write: () => {} }, env: {} }
try {
  await ping(
    undefined,
    {
      trusted: true,
      identity: join(dir, 'operator'),
      trust: [...nodes.map((node) => node.id), stale],
      peer: [...nodes, { id: stale, address: nodes[0].address }].map(
        ({ id, address }) => `${id}@${address.host}:${address.port}`,
      ),
      connectTimeoutMs: 60_000,
    },
    io,
  )
} catch (error) {
  console.log(`ping --trusted: ${error.message}`)
} finally {
  await Promise.all(nodes.map((node) => node.stop()))
  await rm(dir, { recursive: true, force: true })
}
// one line per peer, in the order they answered; sorted here for a stable printout
const shown = lines.join('').trim().split('\n').sort()
for (const line of shown) console.log(line.replace(/rtt [\d.]+/, 'rtt N').replaceAll(/[a-z2-7]{52}/g, '<id>'))
