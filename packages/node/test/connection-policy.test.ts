// The policy's clock: a touch per send reads the time once per event-loop turn, never a stale one.
import { expect, it } from 'vitest'
import { ConnectionPolicy } from '../src/connection-policy.js'
import type { PeerLink } from '../src/peer-link.js'

it('a touch stamps the time of its turn; a touch in a later turn sees the later time', async () => {
  const policy = new ConnectionPolicy({ links: () => [], release: () => {} }, undefined)
  const link = { id: 'peer-a', activity: 0, busy: false, closed: false } as unknown as PeerLink
  const before = Date.now()
  policy.touch(link)
  const first = policy.lastUsed('peer-a')
  expect(first).toBeGreaterThanOrEqual(before)
  // timers never fire early, so the next turn is at least 30 ms later, however loaded the machine
  await new Promise((resolve) => setTimeout(resolve, 30))
  const later = Date.now()
  policy.touch(link)
  expect(policy.lastUsed('peer-a')).toBeGreaterThanOrEqual(later)
  // a second link touched in the same turn shares the stamp
  const other = { id: 'peer-b', activity: 0, busy: false, closed: false } as unknown as PeerLink
  policy.touch(other)
  expect(policy.lastUsed('peer-b')).toBe(policy.lastUsed('peer-a'))
})
