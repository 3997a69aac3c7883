// Active-resource accounting (timers, sockets, handles) for the leak checks.
import { eventually, sleep } from './checks.js'

export type ResourceCounts = ReadonlyMap<string, number>

function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1)
  return counts
}

/** The resources the process holds now, after letting the current tick's work settle. */
export async function resourceSnapshot(): Promise<ResourceCounts> {
  await sleep(50)
  return resourceCounts()
}

function extra(before: ResourceCounts, ignore: ReadonlySet<string>): string[] {
  const out: string[] = []
  for (const [type, n] of resourceCounts()) {
    const grown = n - (before.get(type) ?? 0)
    if (grown > 0 && !ignore.has(type)) out.push(`${grown} x ${type}`)
  }
  return out
}

/**
 * Waits up to `settleMs` for the process to hold no more resources than `before` (ignoring the
 * types in `ignore`); throws naming what is left otherwise.
 */
export async function expectNoLeaks(
  before: ResourceCounts,
  ignore: readonly string[] | undefined,
  settleMs: number,
): Promise<void> {
  const ignored = new Set(ignore ?? [])
  let left: string[] = []
  try {
    await eventually(
      () => {
        left = extra(before, ignored)
        return left.length === 0
      },
      settleMs,
      'resources left after stop',
    )
  } catch {
    throw new Error(`resources left after stop() and teardown(): ${left.join(', ')}`)
  }
}
