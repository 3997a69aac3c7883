// The options of a message channel (`ChannelOptions`): their defaults, and how layers of them
// (transport-wide, then per channel) resolve into one validated set.
import { numberOption } from '@peer/discovery-core/internal'
import { TransportConfigError } from './errors.js'
import type { ChannelOptions } from './types.js'

/** Defaults of {@link ChannelOptions}. */
export const DEFAULT_CHANNEL_OPTIONS: Required<ChannelOptions> = {
  maxFrameSize: 16 * 1024 * 1024,
  maxBufferedBytes: 1024 * 1024,
  maxQueuedMessages: 4096,
  coalesceBytes: 64 * 1024,
  partialFrameTimeoutMs: 60_000,
}

const CHANNEL_OPTION_KEYS = Object.keys(DEFAULT_CHANNEL_OPTIONS) as Array<keyof ChannelOptions>

/** Resolves and validates channel options (an invalid one throws `TransportConfigError`). */
export function channelOptions(...layers: Array<ChannelOptions | undefined>): Required<ChannelOptions> {
  const out = { ...DEFAULT_CHANNEL_OPTIONS }
  for (const layer of layers) {
    if (layer === undefined) continue
    for (const key of CHANNEL_OPTION_KEYS) {
      const max = key === 'maxFrameSize' ? 0xffffffff : undefined // the frame header is a u32
      out[key] = numberOption(layer[key], key, out[key], { integer: true, min: 1, max }, TransportConfigError)
    }
  }
  return out
}

/**
 * A channel's options: `base` (the transport's, already resolved) when the channel sets none of
 * its own (the usual case: no copy, no second validation per channel), else both resolved.
 */
export function channelOptionsOver(
  base: Required<ChannelOptions>,
  own: ChannelOptions | undefined,
): Required<ChannelOptions> {
  if (own === undefined) return base
  for (const key of CHANNEL_OPTION_KEYS) if (own[key] !== undefined) return channelOptions(base, own)
  return base
}
