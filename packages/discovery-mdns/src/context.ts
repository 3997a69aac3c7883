// What the components of MdnsDiscovery (announcer, responder, querier, interface set) share: the
// counters, the per-socket state, and the few services of the backend they call back into.
import type { Logger } from '@peer/discovery-core'
import { BoundedMap } from '@peer/discovery-core/internal'
import type { Destination, InterfaceSocket } from './interface-socket.js'
import type { MdnsInterface } from './interfaces.js'
import type { DnsPacket } from './wire.js'

/** Counters specific to mDNS; they only grow. */
export interface MdnsStats {
  /**
   * DNS messages received from the link on any interface and decoded, counted before they are
   * handled; datagrams dropped before decoding are not included.
   */
  packetsReceived: number
  /**
   * Packets sent (queries, probes, answers, announcements, goodbyes), multicast or unicast, one per
   * socket (interface and family); a send that then fails is counted too.
   */
  packetsSent: number
  /** Datagrams that were not DNS messages (including implausible headers). */
  malformedPackets: number
  /** Datagrams dropped before decoding because their header's counts cannot fit in them. */
  implausiblePackets: number
  /** Datagrams decoded (everything that passed the rate limit and the header check). */
  packetsDecoded: number
  /** Packets dropped by the per-interface rate limit (before decoding). */
  floodDrops: number
  /** Responses ignored because their source port was not the mDNS port. */
  badSourcePort: number
  /** Records dropped because a cache (instances, hosts, addresses) was full. */
  cacheOverflows: number
  /** Pending (half-resolved) instances evicted to make room for newer ones. */
  cacheEvictions: number
  /** Instances dropped because SRV, TXT or an address never arrived. */
  unresolvable: number
  /** TXT strings dropped (binary, malformed key, control characters, too many). */
  badTxt: number
  /**
   * Service names dropped from TXT `services=` lists because they were not of the grammar
   * (`isServiceName` of `@peer/discovery-core`); counted once per node and list. The same as
   * `stats.droppedServiceNames`, which every backend built on `AbstractDiscoveryBackend` counts.
   */
  droppedServiceNames: number
  /**
   * TXT `services=` lists dropped whole (more than `MAX_SERVICES` names); once per node and list.
   * The same as `stats.droppedServiceLists`.
   */
  droppedServiceLists: number
  /** Name conflicts that made us rename (instance or host). */
  conflicts: number
  /** Probes delayed by the RFC 6762 section 8.1 conflict rate limit (15 in 10 s). */
  conflictBackoffs: number
  /** Goodbyes received for one of our own records (answered by announcing it again). */
  spoofedGoodbyes: number
  /** Answers not multicast again within a second (RFC 6762 section 6). */
  rateLimited: number
  /** Queries answered. */
  queriesAnswered: number
  /**
   * Browse queries of ours not sent because another host had asked the same question within the
   * last second, knowing no instance we did not (duplicate question suppression, RFC 6762 section
   * 7.3): its answers reach us too. One per socket and skipped query.
   */
  queriesSuppressed: number
}

/** A fresh set of zero counters. */
export function emptyStats(): MdnsStats {
  return {
    packetsReceived: 0,
    packetsSent: 0,
    malformedPackets: 0,
    implausiblePackets: 0,
    packetsDecoded: 0,
    floodDrops: 0,
    badSourcePort: 0,
    cacheOverflows: 0,
    cacheEvictions: 0,
    unresolvable: 0,
    badTxt: 0,
    droppedServiceNames: 0,
    droppedServiceLists: 0,
    conflicts: 0,
    conflictBackoffs: 0,
    spoofedGoodbyes: 0,
    rateLimited: 0,
    queriesAnswered: 0,
    queriesSuppressed: 0,
  }
}

/** Record keys whose last multicast time a socket keeps (a few announcements' worth). */
export const LAST_MULTICAST_KEYS = 256
/** Our own recent queries a socket remembers, to skip their multicast loopback copies. */
export const OWN_QUERIES = 64

/** The state of a socket just opened: nothing sent yet, the first browse query in a second. */
export function newSocketState(key: string, socket: InterfaceSocket): SocketState {
  return {
    key,
    socket,
    queryInterval: 1000,
    lastMulticast: new BoundedMap(LAST_MULTICAST_KEYS),
    ownQueries: new BoundedMap(OWN_QUERIES),
  }
}

/** State of one open socket (one interface, one family). */
export interface SocketState {
  /** `<interface>/<family>` */
  readonly key: string
  readonly socket: InterfaceSocket
  /** Next browse query interval, ms. */
  queryInterval: number
  queryTimer?: NodeJS.Timeout | undefined
  /**
   * record key -> last time it was multicast on this interface. Bounded: a node whose records
   * change (meta, services, addresses, a new identity) writes new keys for as long as it runs.
   */
  readonly lastMulticast: BoundedMap<string, number>
  /** signature -> time of queries we sent (their multicast loopback copies are not answered) */
  readonly ownQueries: BoundedMap<string, number>
  /** Another host's recent PTR query for our service: when, and the instances it already knew. */
  foreignPtrQuery?: { at: number; known: Set<string> } | undefined
}

/** The services of the backend the components use. */
export interface MdnsContext {
  /** `_peer._udp.local` */
  readonly serviceName: string
  /** The mDNS UDP port. */
  readonly port: number
  readonly stats: MdnsStats
  readonly log: Logger
  /** True between start and stop. */
  running(): boolean
  /** The open sockets. */
  sockets(): Iterable<SocketState>
  /** A socket by key. */
  socket(key: string): SocketState | undefined
  /** The interfaces in use. */
  interfaces(): Iterable<MdnsInterface>
  /** Sends a packet on a socket (to the group, or to `destination`). */
  send(s: SocketState, packet: DnsPacket, destination?: Destination): Promise<void>
  /** Runs `fn` after `ms` unless the backend stopped meanwhile. */
  later(ms: number, fn: () => void): void
  /** Counts an invalid record or packet. */
  countInvalid(reason: string): void
  /** Reports an operational error. */
  reportError(error: unknown): void
}
