import { describe, expect, it } from 'vitest'
import { ChunkPool } from '../src/chunk-pool.js'

describe('ChunkPool', () => {
  it('hands back a given buffer for the same size, and a fresh one otherwise', () => {
    const pool = new ChunkPool()
    const a = pool.take(1000)
    expect(a.byteLength).toBe(1000)
    pool.give(a)
    expect(pool.take(999)).not.toBe(a)
    expect(pool.take(1000)).toBe(a)
    expect(pool.take(1000)).not.toBe(a) // taken: not handed out twice
  })

  it('stays bounded: per size, in size classes and in bytes', () => {
    const pool = new ChunkPool(2, 10_000, 3)
    for (let i = 0; i < 5; i++) pool.give(Buffer.alloc(100))
    expect(pool.bytes).toBe(200) // two per size
    for (const size of [200, 300, 400]) pool.give(Buffer.alloc(size))
    expect(pool.bytes).toBe(700) // the fourth size class was refused
    pool.give(Buffer.alloc(9_999))
    expect(pool.bytes).toBe(700) // over the byte cap
    pool.take(100)
    expect(pool.bytes).toBe(600)
  })
})
