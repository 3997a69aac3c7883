// `peer start` applies edits of its trust list file live: a peer it refused connects once its id
// is added; a bad edit is reported and the last good list stays.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateIdentity, saveIdentity, TrustList } from '@peer/identity'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { makeTempDir, PeerProcess, removeTempDir } from './helpers.js'

let dir: string
const procs: PeerProcess[] = []
beforeAll(async () => {
  dir = await makeTempDir('trust')
})
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()))
  await removeTempDir(dir)
})

it('a refused peer connects once its id is added to the trust file; a bad edit keeps the list', async () => {
  const [a, b] = [await generateIdentity(), await generateIdentity()]
  await saveIdentity(a, join(dir, 'a'))
  await saveIdentity(b, join(dir, 'b'))
  await new TrustList().save(join(dir, 'trust-a.json')) // a trusts nobody yet
  await new TrustList([a.id]).save(join(dir, 'trust-b.json'))
  const common = ['start', '--json', '--listen', '127.0.0.1:0', '--peers-file', join(dir, 'peers.json')]
  await writeFile(join(dir, 'peers.json'), JSON.stringify({ version: 1, peers: [] }))
  const pa = new PeerProcess([
    ...common,
    '--identity',
    join(dir, 'a'),
    '--trust-file',
    join(dir, 'trust-a.json'),
  ])
  const pb = new PeerProcess([
    ...common,
    '--identity',
    join(dir, 'b'),
    '--trust-file',
    join(dir, 'trust-b.json'),
  ])
  procs.push(pa, pb)
  const sa = await pa.waitFor((x) => x.events.find((e) => e.event === 'started'), 30_000, 'a started')
  const sb = await pb.waitFor((x) => x.events.find((e) => e.event === 'started'), 30_000, 'b started')
  await writeFile(
    join(dir, 'peers.json'),
    JSON.stringify({
      version: 1,
      peers: [
        { id: a.id, addresses: [sa.address] },
        { id: b.id, addresses: [sb.address] },
      ],
    }),
  )
  // b dials a; a refuses the untrusted id, and says why
  const refusal = await pa.waitFor(
    (x) => x.events.find((e) => e.event === 'peer:rejected' && e.id === b.id),
    20_000,
    'a rejects b',
  )
  expect(String(refusal.reason)).toMatch(/untrusted/)
  expect(pa.events.some((e) => e.event === 'peer:up')).toBe(false)
  // discovery found b, and a says it will not dial it; b trusts a
  const aFoundB = await pa.waitFor(
    (x) => x.events.find((e) => e.event === 'discovered' && e.id === b.id),
    20_000,
    'a discovers b',
  )
  expect(aFoundB).toMatchObject({ trusted: false })
  const bFoundA = await pb.waitFor(
    (x) => x.events.find((e) => e.event === 'discovered' && e.id === a.id),
    20_000,
    'b discovers a',
  )
  expect(bFoundA).toMatchObject({ trusted: true })
  // b's dials to a fail, and b says why, once however often it redials
  const dialFailed = await pb.waitFor(
    (x) => x.events.find((e) => e.event === 'peer:dial-failed' && e.id === a.id),
    20_000,
    'b: peer:dial-failed a',
  )
  expect(dialFailed).toMatchObject({ error: `server ${a.id} does not trust this node` })

  await new TrustList([b.id]).save(join(dir, 'trust-a.json'))
  const reloaded = await pa.waitFor(
    (x) => x.events.find((e) => e.event === 'trust:reloaded'),
    10_000,
    'reload',
  )
  expect(reloaded).toMatchObject({ size: 1, added: 1, removed: 0 })
  await pa.waitFor(
    (x) => x.events.some((e) => e.event === 'peer:up' && e.id === b.id),
    20_000,
    'a: peer:up b',
  )
  await pb.waitFor((x) => x.events.some((e) => e.event === 'peer:up' && e.id === a.id), 20_000, 'b: up')
  expect(
    pb.events.filter((e) => e.event === 'peer:dial-failed' && e.error === dialFailed.error),
  ).toHaveLength(1)

  await writeFile(join(dir, 'trust-a.json'), '{"version":1,"peers":[{"id":"bad"}]}')
  const error = await pa.waitFor(
    (x) => x.events.find((e) => e.event === 'error' && e.source === 'trust'),
    10_000,
    'error',
  )
  expect(String(error.message)).toContain('peers[0].id')
  // still connected, still trusted
  await new Promise((r) => setTimeout(r, 500))
  expect(pa.events.some((e) => e.event === 'peer:down')).toBe(false)
}, 90_000)
