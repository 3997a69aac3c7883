// Channel options: the transport's, resolved once, serve every channel that sets none of its own;
// a channel's own are checked on top of them.
import { describe, expect, it } from 'vitest'
import { channelOptions, channelOptionsOver, DEFAULT_CHANNEL_OPTIONS } from '../src/channel-options.js'
import { TransportConfigError } from '../src/errors.js'

describe('channelOptionsOver', () => {
  const base = Object.freeze(channelOptions({ maxFrameSize: 4096 }))

  it("is the transport's options, not a copy, when the channel sets none (a signal is not one)", () => {
    expect(channelOptionsOver(base, undefined)).toBe(base)
    expect(channelOptionsOver(base, {})).toBe(base)
    expect(channelOptionsOver(base, { signal: new AbortController().signal } as never)).toBe(base)
  })

  it("lays a channel's own options over the transport's, checked like them", () => {
    const own = channelOptionsOver(base, { coalesceBytes: 1024 })
    expect(own).not.toBe(base)
    expect(own).toEqual({ ...DEFAULT_CHANNEL_OPTIONS, maxFrameSize: 4096, coalesceBytes: 1024 })
    expect(base.coalesceBytes).toBe(DEFAULT_CHANNEL_OPTIONS.coalesceBytes)
    expect(() => channelOptionsOver(base, { maxQueuedMessages: 0 })).toThrow(TransportConfigError)
    expect(() => channelOptionsOver(base, { maxFrameSize: 1.5 })).toThrow(TransportConfigError)
  })
})
