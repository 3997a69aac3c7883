// Probing dials (probe.ts): attempts are cut and started afresh, one at a time; an attempt that has
// committed (the remote may hold its connection) is never cut.
import { describe, expect, it } from 'vitest'
import { probe } from '../src/probe.js'

/** An attempt that settles only when its signal aborts (a hanging handshake), or by `resolve`. */
function hangingAttempts() {
  const started: Array<{ signal: AbortSignal; resolve: (value: string) => void }> = []
  const attempt = (signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      started.push({ signal, resolve })
      signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
  return { started, attempt }
}

describe('probe', () => {
  it('cuts an attempt after attemptMs and starts the next one, one at a time', async () => {
    const { started, attempt } = hangingAttempts()
    const outer = new AbortController()
    const discarded: string[] = []
    const dialing = probe(attempt, 30, outer.signal, (late) => discarded.push(late))
    while (started.length < 3) await new Promise((r) => setTimeout(r, 10))
    expect(started.slice(0, -1).every((a) => a.signal.aborted)).toBe(true)
    expect(started.at(-1)!.signal.aborted).toBe(false)
    started.at(-1)!.resolve('conn')
    expect(await dialing).toBe('conn')
    outer.abort()
  })

  it('does not cut an attempt that has committed: it runs until it settles', async () => {
    const { started, attempt } = hangingAttempts()
    const outer = new AbortController()
    let committed = false
    const dialing = probe(
      attempt,
      30,
      outer.signal,
      () => {},
      () => committed,
    )
    while (started.length < 1) await new Promise((r) => setTimeout(r, 5))
    committed = true
    // several attempt lengths later, still the same attempt, not cut
    await new Promise((r) => setTimeout(r, 150))
    expect(started).toHaveLength(1)
    expect(started[0]!.signal.aborted).toBe(false)
    started[0]!.resolve('late but kept')
    expect(await dialing).toBe('late but kept')
  })

  it('still ends a committed attempt when the whole dial aborts', async () => {
    const { started, attempt } = hangingAttempts()
    const outer = new AbortController()
    const dialing = probe(
      attempt,
      30,
      outer.signal,
      () => {},
      () => true,
    )
    while (started.length < 1) await new Promise((r) => setTimeout(r, 5))
    outer.abort(new Error('stop'))
    await expect(dialing).rejects.toThrow('stop')
    expect(started[0]!.signal.aborted).toBe(true)
  })
})
