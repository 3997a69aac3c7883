// What a connection's close value means to the registry (redial, hold, release, probe).
import { describe, expect, it } from 'vitest'
import { closeKind } from '../src/connections.js'

describe('closeKind', () => {
  it('reads departures, releases and path losses from close values', () => {
    expect(closeKind({ by: 'remote', reason: 'shutdown' })).toBe('departed')
    expect(closeKind({ by: 'local', reason: 'shutdown' })).toBe('other')
    expect(closeKind({ by: 'remote', reason: 'idle' })).toBe('released')
    expect(
      closeKind({ by: 'idle-timeout', reason: 'no packets from the peer within the idle timeout' }),
    ).toBe('path-lost')
    expect(closeKind({ by: 'error', reason: 'reset' })).toBe('path-lost')
    expect(closeKind({ by: 'local', reason: 'stalled' })).toBe('other')
  })

  it('an unanswered liveness probe (reason unresponsive, by either side) is a path loss: redials probe', () => {
    expect(closeKind({ by: 'local', reason: 'unresponsive' })).toBe('path-lost')
    expect(closeKind({ by: 'remote', reason: 'unresponsive' })).toBe('path-lost')
    expect(closeKind('unresponsive')).toBe('path-lost')
  })
})
