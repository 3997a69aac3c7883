// The reset detector on its own (issue 16 item 10): response headers in, "reset" out.
import type { IResponseHeader } from 'etcd3'
import { describe, expect, it } from 'vitest'
import { ResetDetector } from '../src/reset-detector.js'

const header = (revision: number, cluster = 'c1') =>
  ({ revision: String(revision), cluster_id: cluster, member_id: 'm', raft_term: '1' }) as IResponseHeader

describe('ResetDetector', () => {
  it('sees no reset before the first listing is applied', () => {
    const d = new ResetDetector()
    d.listed(header(10))
    expect(d.isReset(header(1, 'other'))).toBe(false)
    d.markSynced()
    expect(d.synced).toBe(true)
    expect(d.isReset(header(10))).toBe(false)
  })

  it('a revision that goes backwards or another cluster id is a reset; later revisions are not', () => {
    const d = new ResetDetector()
    d.listed(header(10))
    d.markSynced()
    expect([d.revision, d.listRevision]).toEqual([10, 10])
    d.advance(15)
    d.advance(12)
    expect([d.revision, d.listRevision]).toEqual([15, 10])
    expect(d.isReset(header(16))).toBe(false)
    expect(d.isReset(header(14))).toBe(true)
    expect(d.isReset(header(20, 'c2'))).toBe(true)
    d.clear()
    expect([d.revision, d.synced]).toEqual([0, false])
    expect(d.isReset(header(1, 'c2'))).toBe(false)
  })
})
