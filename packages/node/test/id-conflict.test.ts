// Two live nodes with one identity (a copied identity file) replace each other's connection at a
// third node, back and forth for as long as both run. The third node says so once, at `warn`, and
// counts it. (A peer restarted with its identity replaces its old connection once: no conflict,
// checked in errors.test.ts.)
import { generateIdentity } from '@peer/identity'
import { type LogRecord, recordingLogger } from '@peer/testkit/recording-logger'
import { waitFor } from '@peer/testkit/wait'
import { afterEach, expect, it } from 'vitest'
import { type Member, startMember, stopAll } from './helpers.js'

const running: Member[] = []
afterEach(async () => {
  await stopAll(running.splice(0))
})

const conflicts = (records: readonly LogRecord[]) =>
  records.filter(
    (r) => r.level === 'warn' && r.message.startsWith('connections from one id keep replacing each other'),
  )

it('warns once, and counts, when two live nodes use one id', async () => {
  const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
  const { factory, records } = recordingLogger()
  const a = await startMember(ia, [ib.id], { logger: factory })
  const b1 = await startMember(ib, [ia.id])
  const b2 = await startMember(ib, [ia.id])
  running.push(a, b1, b2)
  // both copies find a; a finds one of them
  for (const b of [b1, b2]) b.discovery.announcePeer(a.node.id, [a.node.address], { name: a.node.name })
  a.discovery.announcePeer(ib.id, [b1.node.address], { name: b1.node.name })
  await waitFor(() => (a.node.registryStats?.idConflicts ?? 0) >= 2, {
    timeoutMs: 60_000,
    what: 'the connections of the two copies to replace each other',
  })
  const warned = conflicts(records)
  expect(warned).toHaveLength(1)
  expect(warned[0]!.fields).toMatchObject({ id: expect.any(String) })
  expect((warned[0]!.fields as { addresses: string[] }).addresses).toHaveLength(2)
}, 120_000)
