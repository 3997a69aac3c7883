// `peer status` text for a discovery backend's last error: when it failed, and when it worked
// again (a backend that recovered long ago read as failing now).
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
