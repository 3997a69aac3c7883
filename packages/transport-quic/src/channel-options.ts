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

/** Resolves and validates channel options (an invalid one throws `TransportConfigError`). */
export function channelOptions(...layers: Array<ChannelOptions | undefined>): Required<ChannelOptions> {
  const out = { ...DEFAULT_CHANNEL_OPTIONS }
  for (const layer of layers) {
    if (layer === undefined) continue
    for (const key of Object.keys(DEFAULT_CHANNEL_OPTIONS) as Array<keyof ChannelOptions>) {
      const max = key === 'maxFrameSize' ? 0xffffffff : undefined // the frame header is a u32
      out[key] = numberOption(layer[key], key, out[key], { integer: true, min: 1, max }, TransportConfigError)
    }
  }
  return out
}
