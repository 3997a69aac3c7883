// A discovery source given to PeerRegistry directly may be a user's backend on a plain EventTarget,
// where a listener that throws is an uncaught exception: an event of another shape is logged and
// ignored, and a well-formed one still makes a member.
import { testId } from '@peer/testkit/ids'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { describe, expect, it } from 'vitest'
import { PeerRegistry, type PeerSource } from '../src/index.js'

describe('PeerRegistry with a raw discovery source', () => {
  it('logs and ignores events of another shape; keeps working', async () => {
    const raw = new EventTarget()
    const { factory, records } = recordingLogger()
    const registry = new PeerRegistry({
      self: testId('self'),
      transport: { dial: () => new Promise<never>(() => {}) },
      trust: () => true,
      discovery: raw as unknown as PeerSource,
      connect: 'on-demand',
      logger: factory,
    })
    await registry.start()
    try {
      for (const type of ['peer:discovered', 'peer:updated', 'peer:lost'])
        for (const detail of [null, { record: null }, { record: { id: testId('x') } }])
          raw.dispatchEvent(new CustomEvent(type, { detail }))
      const warned = records.filter((r) => r.level === 'warn')
      expect(warned.length).toBeGreaterThan(0)
      expect(warned[0]!.message).toBe('the discovery source sent an event of another shape; ignored')
      const id = testId('member')
      raw.dispatchEvent(
        new CustomEvent('peer:discovered', {
          detail: {
            record: { id, source: 'raw', addresses: [{ host: '127.0.0.1', port: 9 }] },
            source: 'raw',
          },
        }),
      )
      expect(registry.status(id)).toMatchObject({ id, discovered: true })
    } finally {
      await registry.stop()
    }
  })
})
