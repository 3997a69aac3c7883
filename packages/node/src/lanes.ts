/**
 * Lanes: the node keeps several message channels (QUIC streams) per connection and direction, so
 * topics do not wait for each other. Lane 0 carries control traffic (`hello`, `ping`/`pong`,
 * acknowledgements, small answers) and `urgent` topics; lanes 1-4 carry `normal` topics and lanes
 * 5-6 `bulk` topics. A topic maps to one lane of its class by a hash of its name, so the envelopes
 * of one topic (at one priority) stay in order.
 */
import { ConfigError } from '@peer/discovery-core'

/**
 * How urgent a topic's traffic is: `urgent` (the control lane), `normal` (default) or `bulk`, or a
 * number 0-7 with the meaning of an RFC 9218 urgency (0 most urgent): 0-1 is `urgent`, 2-4 is
 * `normal`, 5-7 is `bulk`.
 */
export type Priority = 'urgent' | 'normal' | 'bulk' | number

/** The lane of control traffic and `urgent` topics. */
export const CONTROL_LANE = 0
/** Lanes of `normal` topics. */
export const NORMAL_LANES = [1, 2, 3, 4] as const
/** Lanes of `bulk` topics. */
export const BULK_LANES = [5, 6] as const
/** Lanes per direction (control + normal + bulk). */
export const LANE_COUNT = 1 + NORMAL_LANES.length + BULK_LANES.length

/** The bulk lanes, for lookups. */
export const BULK_LANE_SET: ReadonlySet<number> = new Set(BULK_LANES)

/** Answers up to this size (encoded) go on the control lane; larger ones on their topic's lane. */
export const SMALL_ANSWER_BYTES = 16 * 1024

/** The class of a priority; throws `ConfigError` (option `priority`) for anything else. */
export function priorityClass(priority: Priority | undefined): 'urgent' | 'normal' | 'bulk' {
  if (priority === undefined || priority === 'normal') return 'normal'
  if (priority === 'urgent' || priority === 'bulk') return priority
  if (typeof priority === 'number' && Number.isInteger(priority) && priority >= 0 && priority <= 7) {
    return priority <= 1 ? 'urgent' : priority <= 4 ? 'normal' : 'bulk'
  }
  throw new ConfigError(
    `priority must be 'urgent', 'normal', 'bulk' or an integer 0-7, got ${String(priority)}`,
    { option: 'priority' },
  )
}

/** FNV-1a over the UTF-16 code units of `topic`: the same lane on every node and every run. */
function topicHash(topic: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < topic.length; i++) {
    h ^= topic.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** The lane of `topic` at `priority` (deterministic); throws `ConfigError` for an invalid priority. */
export function laneOf(topic: string, priority: Priority | undefined): number {
  const cls = priorityClass(priority)
  if (cls === 'urgent') return CONTROL_LANE
  const lanes = cls === 'bulk' ? BULK_LANES : NORMAL_LANES
  return lanes[topicHash(topic) % lanes.length]!
}

/** The bulk window grows by `maxBulkBytesInFlight` per this much of the path's lowest RTT. */
const WINDOW_RTT_UNIT_MS = 20

/**
 * The bulk lanes' window: `base` (`maxBulkBytesInFlight`), scaled up on long paths (by the lowest
 * RTT seen, `minRtt`, over 20 ms, at most 16x) so a bulk transfer there keeps enough in flight to
 * ride out losses; `base` without `scaling`. The lowest RTT, not the current one: a receiver busy
 * with bulk data must not widen its own queue.
 */
export function bulkWindow(base: number, minRtt: number, scaling: boolean): number {
  if (!scaling || !(minRtt > WINDOW_RTT_UNIT_MS)) return base
  return Math.round(base * Math.min(16, minRtt / WINDOW_RTT_UNIT_MS))
}
