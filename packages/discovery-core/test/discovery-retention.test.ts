// What the aggregate keeps of peers that came and went: nothing. A cluster whose members churn
// (new identities on every deploy) must not grow the discovery state of a long-running node.
import { waitUntilCollected } from '@peer/testkit/handles'
import { testId } from '@peer/testkit/ids'
import { waitFor } from '@peer/testkit/wait'
import { expect, it } from 'vitest'
import { Discovery, type PeerRecord } from '../src/index.js'
import { TestBackend } from './fixtures.js'

it('keeps nothing of the peers it lost: their records (merged and per backend) are collected', async () => {
  const backends = [new TestBackend('first'), new TestBackend('second')]
  const discovery = new Discovery({ backends, lostHysteresisMs: 0 })
  await discovery.start()
  try {
    const refs: WeakRef<PeerRecord>[] = []
    let lost = 0
    // the aggregate's merged records, and each backend's own
    discovery.addEventListener('peer:discovered', (e) => refs.push(new WeakRef(e.detail.record)))
    for (const b of backends)
      b.addEventListener('peer:discovered', (e) => refs.push(new WeakRef(e.detail.record)))
    discovery.addEventListener('peer:lost', () => lost++)
    const COUNT = 200
    for (let i = 0; i < COUNT; i++) {
      const record = { id: testId(`churn-${i}`), addresses: [{ host: '127.0.0.1', port: 4000 + i }] }
      // both sources report it, then both lose it
      for (const b of backends) b.found(record)
      for (const b of backends) b.lost(record.id)
    }
    await waitFor(() => lost === COUNT, { timeoutMs: 30_000, what: `${COUNT} peer:lost events` })
    expect(refs).toHaveLength(3 * COUNT)
    expect(await discovery.list()).toEqual([])
    await waitUntilCollected(refs, { timeoutMs: 30_000, what: 'the lost records to be collected' })
  } finally {
    await discovery.stop()
  }
})
