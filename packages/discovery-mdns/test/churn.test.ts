// A watching node keeps nothing of the peers that came and went: eighteen identities announce and
// withdraw (a redeployed cluster brings new ones each time), and afterwards the watcher's cache is
// empty and every record it emitted for them can be collected. The watcher lives in a child
// process in a namespace, so the check runs there (the compliance kit sees only the proxy's copies).

import { testId } from '@peer/testkit/ids'
import type { BackendHost, RemoteBackend } from '@peer/testkit/remote-backend'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { expect, it } from 'vitest'
import { createRemote, hostInNamespace } from './helpers/harness.js'

let host: BackendHost
hostInNamespace('mdns-churn', (h) => {
  host = h
})

const PUBLISHERS = 3
const ROUNDS = 6
/** Each wait: generous, the machine is shared (waits end on the condition). */
const WAIT = { timeoutMs: 30_000 }

it('keeps nothing of peers that came and went: empty cache, records collected', async () => {
  const watcher = await createRemote(host, { ttl: 10 })
  const publishers: RemoteBackend[] = []
  for (let i = 0; i < PUBLISHERS; i++) publishers.push(await createRemote(host, { ttl: 10 }))
  await watcher.extra('trackRecords')
  const rec = recordEvents(watcher, ['peer:discovered', 'peer:lost'])
  const seen = (type: string, id: string) =>
    rec.of(type).some((e) => (e.detail as { record: { id: string } }).record.id === id)
  await Promise.all([watcher, ...publishers].map((b) => b.start()))
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const peers = publishers.map((_, i) => ({
        id: testId(`churn-${round}-${i}`),
        name: `churn${round}x${i}@box${round}`,
        addresses: [{ host: '0.0.0.0', port: 4000 + i }],
        meta: { round: String(round) },
      }))
      await Promise.all(publishers.map((p, i) => p.announce(peers[i]!)))
      await waitFor(() => peers.every((p) => seen('peer:discovered', p.id)), {
        ...WAIT,
        what: `round ${round}: every peer discovered`,
      })
      await Promise.all(publishers.map((p) => p.withdraw()))
      await waitFor(() => peers.every((p) => seen('peer:lost', p.id)), {
        ...WAIT,
        what: `round ${round}: every peer lost`,
      })
    }
    expect(rec.of('peer:discovered')).toHaveLength(PUBLISHERS * ROUNDS)
    // goodbyes stay cached for a second (RFC 6762 section 10.1), then nothing is left
    await waitFor(
      async () => {
        const size = await watcher.extra<{ instances: number; hosts: number }>('cacheSize')
        return size.instances === 0 && size.hosts === 0
      },
      { ...WAIT, what: 'an empty cache' },
    )
    await waitFor(async () => (await watcher.extra<{ held: number }>('heldRecords')).held === 0, {
      ...WAIT,
      what: 'the records of lost peers to be collected',
    }).catch(async (error: Error) => {
      const { held, of } = await watcher.extra<{ held: number; of: number }>('heldRecords')
      throw new Error(`${error.message}: ${held} of ${of} still held`)
    })
  } finally {
    await Promise.allSettled([watcher, ...publishers].map((b) => b.stop()))
  }
}, 180_000)
