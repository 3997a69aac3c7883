import type { RandomSource } from '@peer/discovery-core/internal'

/** The fields of an SRV record that RFC 2782 ordering looks at. */
export interface SrvLike {
  /** The SRV priority: records of the lowest priority come first. */
  readonly priority: number
  /**
   * The SRV weight: within one priority, a record's chance to come first is proportional to it (a
   * record of weight 0 has a small chance).
   */
  readonly weight: number
}

/** A random source in [0, 1). */
export type { RandomSource } from '@peer/discovery-core/internal'
/** A small, fast, seedable PRNG (mulberry32), shared with the other peer packages. */
export { seededRandom } from '@peer/discovery-core/internal'

/** A 32-bit FNV-1a hash of a string, to derive per-RRset seeds. */
export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * Orders SRV records as RFC 2782 says a client tries them: lowest priority first; within one
 * priority, a weighted random order (a record of weight 0 has a small chance, the others are
 * picked with probability proportional to their weight, repeatedly without replacement; records
 * that all weigh 0 are picked with equal probability).
 * With a seeded `random`, the order is deterministic. The input is not modified.
 */
export function orderSrvRecords<T extends SrvLike>(
  records: readonly T[],
  random: RandomSource = Math.random,
): T[] {
  const byPriority = new Map<number, T[]>()
  for (const r of records) {
    const list = byPriority.get(r.priority)
    if (list) list.push(r)
    else byPriority.set(r.priority, [r])
  }
  const out: T[] = []
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    // RFC 2782: put the weight-0 records first, then pick by running sums
    const pool = [...byPriority.get(priority)!].sort(
      (a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1),
    )
    while (pool.length > 0) {
      const total = pool.reduce((sum, r) => sum + r.weight, 0)
      if (total === 0) {
        // only weight-0 records left: spread the load evenly
        out.push(...pool.splice(Math.floor(random() * pool.length), 1))
        continue
      }
      const pick = Math.floor(random() * (total + 1))
      let running = 0
      let chosen = pool.length - 1
      for (let i = 0; i < pool.length; i++) {
        running += pool[i]!.weight
        if (running >= pick) {
          chosen = i
          break
        }
      }
      out.push(pool[chosen]!)
      pool.splice(chosen, 1)
    }
  }
  return out
}
