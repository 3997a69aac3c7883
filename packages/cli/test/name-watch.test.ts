// `peer ping <name>`: a name only an untrusted peer has ends the ping only once it has stayed so
// for the grace period; a trusted peer with the name reported meanwhile is the target instead.
import { Discovery, type MergedPeerRecord } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { waitFor } from '@peer/testkit/wait'
import { afterEach, expect, it } from 'vitest'
import { watchName } from '../src/name-watch.js'

const stops: Array<() => unknown> = []
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop()
})

async function started() {
  const backend = new ManualBackend()
  const discovery = new Discovery({ backends: [backend], lostHysteresisMs: 0 })
  await discovery.start()
  stops.push(() => discovery.stop())
  return { backend, discovery }
}

const mine = testId(1)
const stranger = testId(2)
const addr = (port: number) => [{ host: '127.0.0.1', port }]

function watch(discovery: Discovery, name: string, graceMs: number) {
  const seen = { targets: [] as string[], strangers: [] as MergedPeerRecord[] }
  const off = watchName(
    discovery,
    name,
    (id) => id === mine,
    {
      onTarget: (id) => seen.targets.push(id),
      onStranger: (record) => seen.strangers.push(record),
    },
    graceMs,
  )
  stops.push(off)
  return seen
}

it('an untrusted peer reported first, a trusted one within the grace period: the trusted one, no stranger', async () => {
  const { backend, discovery } = await started()
  // a grace period no test machine outlasts: the trusted report must win, not the clock
  const seen = watch(discovery, 'api', 3_600_000)
  backend.announcePeer(stranger, addr(2), { name: 'api@b' })
  backend.announcePeer(mine, addr(1), { name: 'api@a' })
  await waitFor(() => seen.targets.length > 0, { timeoutMs: 30_000, what: 'the target' })
  expect(seen.targets).toEqual([mine])
  expect(seen.strangers).toEqual([])
})

it('a name only an untrusted peer keeps: reported once, after the grace period', async () => {
  const { backend, discovery } = await started()
  backend.announcePeer(stranger, addr(2), { name: 'api@b' })
  const seen = watch(discovery, 'api@b', 50)
  expect(seen.strangers).toEqual([]) // not at once
  await waitFor(() => seen.strangers.length > 0, { timeoutMs: 30_000, what: 'the stranger' })
  backend.announcePeer(stranger, addr(3), { name: 'api@b' })
  await new Promise((resolve) => setTimeout(resolve, 100))
  expect(seen.strangers.map((r) => [r.id, r.name])).toEqual([[stranger, 'api@b']])
  expect(seen.targets).toEqual([])
})

it('a stranger that goes away within the grace period is not reported', async () => {
  const { backend, discovery } = await started()
  const seen = watch(discovery, 'api', 200)
  backend.announcePeer(stranger, addr(2), { name: 'api@b' })
  backend.losePeer(stranger)
  await waitFor(() => discovery.snapshot().length === 0, { timeoutMs: 30_000, what: 'the loss' })
  await new Promise((resolve) => setTimeout(resolve, 400))
  expect(seen.strangers).toEqual([])
})
