import { PeerError } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { describe, expect, it } from 'vitest'
import { ConnectionClosedError, FrameTooLargeError, PinningError, TransportError } from '../src/index.js'

describe('errors', () => {
  it('PinningError names both ids', () => {
    const e = new PinningError(testId('expected'), testId('actual'))
    expect(e).toBeInstanceOf(TransportError)
    expect(e).toBeInstanceOf(PeerError)
    expect(e.name).toBe('PinningError')
    expect(e.message).toContain(testId('expected'))
    expect(e.message).toContain(testId('actual'))
  })

  it('FrameTooLargeError and ConnectionClosedError describe themselves', () => {
    expect(new FrameTooLargeError(10, 5, 'send').message).toMatch(/10 bytes exceeds maxFrameSize 5/)
    const closed = new ConnectionClosedError('connection is closed', { by: 'remote', reason: 'bye', code: 0 })
    expect(closed.message).toBe('connection is closed (closed by remote code 0: bye)')
    expect(closed.info?.by).toBe('remote')
  })
})
