// The snapshot of one link that `peers()` and `peer()` return: who, where, since when, its
// counters and its lanes.
import type { PeerAddress } from '@peer/discovery-core'
import { BULK_LANE_SET, CONTROL_LANE } from './lanes.js'
import type { OutLane } from './out-lane.js'
import type { LaneInfo, PeerInfo, PeerStats } from './types.js'

/** What a link's snapshot is made of. @internal */
export interface LinkInfoParts {
  id: string
  name: string | undefined
  direction: 'inbound' | 'outbound'
  address: PeerAddress
  upSince: number
  stats: PeerStats
  inFlight: number
  rtt: number | undefined
  byteStreams: number
  /** This side's lanes (outgoing channels), by index. */
  lanes: readonly OutLane[]
  /** The lanes the peer opened towards this side. */
  inLanes: ReadonlySet<number>
}

/** A frozen snapshot of a link for `peers()`. @internal */
export function linkInfo(parts: LinkInfoParts): PeerInfo {
  return Object.freeze({
    id: parts.id,
    name: parts.name,
    direction: parts.direction,
    address: { ...parts.address },
    upSince: parts.upSince,
    stats: Object.freeze({
      ...parts.stats,
      inFlight: parts.inFlight,
      rtt: parts.rtt,
      byteStreams: parts.byteStreams,
      unconfirmed: parts.lanes.reduce((n, l) => n + l.unacked, 0),
    }),
    lanes: Object.freeze(laneInfo(parts.lanes, parts.inLanes)),
  })
}

/** The lanes in use in either direction, or with envelopes queued. */
function laneInfo(lanes: readonly OutLane[], inLanes: ReadonlySet<number>): LaneInfo[] {
  const used: LaneInfo[] = []
  for (const l of lanes) {
    const out = l.channel !== undefined
    const inbound = inLanes.has(l.index)
    if (!out && !inbound && l.queued === 0) continue
    const cls = l.index === CONTROL_LANE ? 'control' : BULK_LANE_SET.has(l.index) ? 'bulk' : 'normal'
    used.push({ lane: l.index, class: cls, out, in: inbound, queued: l.queued, unacked: l.unacked })
  }
  return used
}
