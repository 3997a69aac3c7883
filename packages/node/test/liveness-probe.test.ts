// The liveness probe on its own: one ping per probe, at most one in flight, and its three outcomes.
import { describe, expect, it } from 'vitest'
import { LivenessProbe } from '../src/liveness-probe.js'

describe('LivenessProbe', () => {
  it('sends one ping; a probe while one is in flight joins it and sends nothing', async () => {
    let pings = 0
    const probe = new LivenessProbe(() => pings++)
    const first = probe.probe(60_000)
    const second = probe.probe(60_000)
    expect(first.started).toBe(true)
    expect(second.started).toBe(false)
    expect(second.outcome).toBe(first.outcome)
    expect(pings).toBe(1)
    expect(probe.probing).toBe(true)
    expect(probe.answered()).toBe(true)
    expect(await first.outcome).toBe('answered')
    expect(probe.probing).toBe(false)
    // answered: the next suspicion probes again
    const third = probe.probe(60_000)
    expect(third.started).toBe(true)
    expect(pings).toBe(2)
    probe.close()
    expect(await third.outcome).toBe('closed')
  })

  it('ends unanswered when no pong comes within the time limit; a late pong changes nothing', async () => {
    const probe = new LivenessProbe(() => {})
    expect(await probe.probe(20).outcome).toBe('unanswered')
    expect(probe.probing).toBe(false)
    expect(probe.answered()).toBe(false)
  })

  it('after close, probes end closed at once and send nothing', async () => {
    let pings = 0
    const probe = new LivenessProbe(() => pings++)
    probe.close()
    const after = probe.probe(60_000)
    expect(after.started).toBe(false)
    expect(await after.outcome).toBe('closed')
    expect(pings).toBe(0)
  })
})
