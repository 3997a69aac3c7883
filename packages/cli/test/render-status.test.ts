// `peer status` text for a discovery backend's last error: when it failed, and when it worked
// again (a backend that recovered long ago read as failing now); a peer's state and next dial.
import { expect, it } from 'vitest'
import { renderStatus, type StatusSnapshot } from '../src/index.js'

const now = Date.now()
const snapshot = (lastError: NonNullable<StatusSnapshot['discovery']>['backends'][number]['lastError']) =>
  ({
    node: {
      name: 'n1@localhost',
      id: 'x',
      address: '127.0.0.1:1',
      addresses: [],
      state: 'running',
      uptimeMs: 1000,
      pid: 1,
      version: '0',
    },
    stats: {
      messagesSent: 0,
      messagesReceived: 0,
      messagesDropped: 0,
      malformed: 0,
      unhandled: 0,
      protocolErrors: 0,
      rejected: 0,
    },
    registry: {},
    peers: [],
    discovery: { stats: {}, backends: [{ source: 'etcd', stats: {}, lastError }] },
  }) as unknown as StatusSnapshot

it('shows when a failed backend worked again', () => {
  const failing = renderStatus(snapshot({ message: 'ECONNREFUSED', at: now - 60_000 }))
  expect(failing).toMatch(/^ {2}last error \d+ s ago: ECONNREFUSED$/m)
  const recovered = renderStatus(
    snapshot({ message: 'ECONNREFUSED', at: now - 60_000, recoveredAt: now - 30_000 }),
  )
  expect(recovered).toMatch(/^ {2}last error \d+ s ago \(working again since \d+ s ago\): ECONNREFUSED$/m)
})

it('shows when the next dial of a peer that backs off is due', () => {
  const peer = (state: string, nextDialAt?: number) => ({
    id: 'p'.repeat(52),
    name: `${state}@localhost`,
    state,
    up: false,
    discovered: true,
    addresses: [],
    dialAttempts: 2,
    totalDials: 2,
    nextDialAt,
    lanes: [],
  })
  const text = renderStatus({
    ...snapshot(undefined),
    peers: [
      peer('backoff', now + 200_500),
      peer('backoff', now + 400),
      peer('departed', now + 30_000),
      peer('dialing'),
    ],
  })
  expect(text).toMatch(/│ backoff, dial in 3m\d+s /)
  expect(text).toMatch(/│ backoff, dial in \d{1,3}ms /)
  expect(text).toMatch(/│ departed, dial in \d+s /)
  expect(text).toMatch(/│ dialing /)
})

it("prints a down peer's last error as one inert line (its text may come from the network)", () => {
  const text = renderStatus({
    ...snapshot(undefined),
    peers: [
      {
        id: 'q'.repeat(52),
        name: 'gone@localhost',
        state: 'backoff',
        up: false,
        discovered: true,
        addresses: [],
        dialAttempts: 1,
        totalDials: 1,
        lanes: [],
        lastError: 'closed by remote: bye\u001b[2J\u009b31m\nsecond line',
      },
    ],
  } as unknown as StatusSnapshot)
  expect(text).toMatch(/^ {2}gone@localhost: closed by remote: bye \[2J 31m second line$/m)
  expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
})
