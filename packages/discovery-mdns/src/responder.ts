// The responder (RFC 6762 sections 6-8): answers queries for our records on the interface they
// arrived on, with known-answer suppression, the one-second multicast rate limit, unicast
// answers for QU and legacy queries, negative answers (NSEC, section 6.1) for record types we do
// not have under names we own, and the simultaneous-probe tie-break.
import type { RemoteInfo } from 'node:dgram'
import type { Announcement, Announcer, OwnRecords } from './announcer.js'
import type { MdnsContext, SocketState } from './context.js'
import { nameKey } from './instance-name.js'
import { compareRecordSets, isQu, querySignature, recordKey, SERVICES_META } from './records.js'
import { type DnsPacket, type DnsQuestion, type DnsRecord, FLAG_AA, FLAG_TC } from './wire.js'

/** Answers queries for this node's records. */
export class Responder {
  readonly #ctx: MdnsContext
  readonly #announcer: Announcer
  /** sender -> a TC query whose known answers are still arriving */
  readonly #held = new Map<string, { questions: DnsQuestion[]; answers: DnsRecord[] } & DnsPacket>()

  constructor(ctx: MdnsContext, announcer: Announcer) {
    this.#ctx = ctx
    this.#announcer = announcer
  }

  /** Forgets held queries (on stop). */
  clear(): void {
    this.#held.clear()
  }

  /**
   * Duplicate question suppression (RFC 6762 section 7.3): remember another host's PTR query for
   * our service, so that our own refresh of an instance it did not list as known is not needed.
   */
  noteForeignQuery(s: SocketState, packet: DnsPacket, rinfo: RemoteInfo, now: number): void {
    if (rinfo.port !== this.#ctx.port) return
    const sentAt = s.ownQueries.get(querySignature(packet))
    if (sentAt !== undefined && now - sentAt < 100) return
    const service = nameKey(this.#ctx.serviceName)
    if (!(packet.questions ?? []).some((q) => nameKey(q.name) === service && q.type === 'PTR')) return
    const known = new Set<string>()
    for (const a of packet.answers ?? []) {
      if (a.type === 'PTR' && nameKey(String(a.name)) === service && typeof a.data === 'string')
        known.add(nameKey(a.data))
      if (known.size >= 256) break
    }
    s.foreignPtrQuery = { at: now, known }
  }

  onQuery(s: SocketState, packet: DnsPacket, rinfo: RemoteInfo): void {
    const a = this.#announcer.current
    if (a === undefined || a.state === 'idle') return
    // not published on this interface (a node on loopback only): nothing to answer here either
    if (!this.#announcer.publishesOn(s.socket.iface, a)) return
    // our own query looped back (same content within 100 ms): nothing to answer
    const sentAt = s.ownQueries.get(querySignature(packet))
    if (sentAt !== undefined && Date.now() - sentAt < 100 && rinfo.port === this.#ctx.port) return
    if (a.state === 'probing') {
      this.#tieBreak(s, a, packet)
      return
    }
    if (this.#deferForKnownAnswers(s, packet, rinfo)) return
    this.#answer(s, a, packet, rinfo)
  }

  /**
   * RFC 6762 section 7.2: a query with the TC bit continues with more known answers in the next
   * messages from the same sender. Its answer waits 400-500 ms for them (bounded: at most 64
   * senders and 2000 known answers each are held). True when the packet was taken.
   */
  #deferForKnownAnswers(s: SocketState, packet: DnsPacket, rinfo: RemoteInfo): boolean {
    const key = `${s.key}|${rinfo.address}|${rinfo.port}`
    const held = this.#held.get(key)
    const tc = ((packet.flags ?? 0) & FLAG_TC) !== 0
    if (held !== undefined) {
      if ((packet.questions ?? []).length > 0 && !tc) return false
      held.questions.push(...(packet.questions ?? []))
      for (const known of packet.answers ?? []) if (held.answers.length < 2000) held.answers.push(known)
      return true
    }
    if (!tc || (packet.questions ?? []).length === 0 || this.#held.size >= 64) return false
    const merged = {
      ...packet,
      questions: [...(packet.questions ?? [])],
      answers: [...(packet.answers ?? [])],
    }
    this.#held.set(key, merged)
    this.#ctx.later(400 + Math.random() * 100, () => {
      this.#held.delete(key)
      const a = this.#announcer.current
      if (a?.state === 'announced') this.#answer(s, a, merged, rinfo)
    })
    return true
  }

  #answer(s: SocketState, a: Announcement, packet: DnsPacket, rinfo: RemoteInfo): void {
    const questions = packet.questions ?? []
    const authorities = packet.authorities ?? []
    const legacy = rinfo.port !== this.#ctx.port
    const r = this.#announcer.records(s.socket.iface, a, legacy ? 'legacy' : 'normal')
    const answers = new Map<string, DnsRecord>()
    const additionals = new Map<string, DnsRecord>()
    let probe = false
    let shared = false
    let allQu = questions.length > 0
    const instance = nameKey(a.instanceName)
    const host = nameKey(a.hostName)
    for (const q of questions) {
      if (!isQu(q)) allQu = false
      const name = nameKey(q.name)
      const type = String(q.type)
      const any = type === 'ANY'
      const add = (x: DnsRecord) => answers.set(recordKey(x), x)
      const extra = (x: DnsRecord) => additionals.set(recordKey(x), x)
      if (name === nameKey(this.#ctx.serviceName) && (type === 'PTR' || any)) {
        add(r.ptr)
        shared = true
        for (const x of [r.srv, r.txt, ...r.addresses]) extra(x)
        const nsec = this.#hostNsec(a, r, legacy)
        if (nsec) extra(nsec)
      } else if (name === nameKey(SERVICES_META) && (type === 'PTR' || any)) {
        add(r.meta)
        shared = true
      } else if (name === instance) {
        if (authorities.some((x) => nameKey(String(x.name)) === name)) probe = true
        if (type === 'SRV' || any) add(r.srv)
        if (type === 'TXT' || any) add(r.txt)
        if (type !== 'SRV' && type !== 'TXT' && !any)
          add(this.#nsec(a.instanceName, ['TXT', 'SRV'], r, legacy))
        else for (const x of r.addresses) extra(x)
      } else if (name === host) {
        if (authorities.some((x) => nameKey(String(x.name)) === name)) probe = true
        const matching = r.addresses.filter((x) => type === x.type || any)
        for (const x of matching) add(x)
        if (matching.length === 0 && !any) {
          // we own the name but have no record of this type (section 6.1)
          const nsec = this.#hostNsec(a, r, legacy, true)
          if (nsec) add(nsec)
        } else {
          const nsec = this.#hostNsec(a, r, legacy)
          if (nsec) extra(nsec)
        }
      }
    }
    if (answers.size === 0) return
    // known-answer suppression (RFC 6762 section 7.1)
    for (const known of packet.answers ?? []) {
      const k = recordKey(known)
      const ours = answers.get(k)
      if (ours !== undefined && (known.ttl ?? 0) >= (ours.ttl ?? 0) / 2) answers.delete(k)
    }
    for (const k of answers.keys()) additionals.delete(k)
    if (answers.size === 0) return
    const now = Date.now()
    // QU questions get a unicast answer, unless the answer defends a name against a probe (other
    // probers may share the mDNS port on that host) or a record was not multicast within a
    // quarter of its TTL (section 5.4: then multicast keeps every cache up to date)
    const recent = [...answers.values()].every((x) => {
      const last = s.lastMulticast.get(recordKey(x))
      return last !== undefined && now - last < ((x.ttl ?? 0) * 1000) / 4
    })
    const unicast = legacy || (allQu && !probe && recent)
    if (!unicast) {
      // do not multicast a record again within a second (a quarter second for probe defence)
      const window = probe ? 250 : 1000
      for (const [k, x] of answers) {
        const last = s.lastMulticast.get(recordKey(x))
        if (last !== undefined && now - last < window) {
          answers.delete(k)
          this.#ctx.stats.rateLimited++
        }
      }
      if (answers.size === 0) return
    }
    const response: DnsPacket = {
      type: 'response',
      id: legacy ? (packet.id ?? 0) : 0,
      flags: FLAG_AA,
      questions: legacy ? questions.map((q) => ({ name: q.name, type: q.type, class: 'IN' })) : [],
      answers: [...answers.values()],
      additionals: [...additionals.values()],
    }
    this.#ctx.stats.queriesAnswered++
    const send = () => {
      if (!unicast) {
        const t = Date.now()
        for (const x of response.answers ?? []) s.lastMulticast.set(recordKey(x), t)
      }
      void this.#ctx.send(s, response, unicast ? { address: rinfo.address, port: rinfo.port } : undefined)
    }
    // shared records wait 20-120 ms so several responders do not collide (section 6)
    if (shared && !probe) this.#ctx.later(20 + Math.random() * 100, send)
    else send()
  }

  /** A simultaneous probe for our names: the lexicographically later data wins (section 8.2). */
  #tieBreak(s: SocketState, a: Announcement, packet: DnsPacket): void {
    const authorities = packet.authorities ?? []
    for (const q of packet.questions ?? []) {
      const name = nameKey(q.name)
      if (name !== nameKey(a.instanceName) && name !== nameKey(a.hostName)) continue
      const theirs = authorities.filter((r) => nameKey(String(r.name)) === name)
      if (theirs.length === 0 || theirs.every((r) => this.#announcer.isOurRecord(a, r))) continue
      const ours = this.#announcer.records(s.socket.iface, a)
      const mine = name === nameKey(a.instanceName) ? [ours.srv, ours.txt] : ours.addresses
      if (compareRecordSets(theirs, mine) > 0) a.lostTiebreak = true
    }
  }

  #nsec(name: string, rrtypes: string[], r: OwnRecords, legacy: boolean): DnsRecord {
    return {
      name,
      type: 'NSEC',
      ttl: r.srv.ttl,
      flush: !legacy,
      data: { nextDomain: name, rrtypes },
    }
  }

  /** NSEC for the host name listing the address types it has; `always` even when it has both. */
  #hostNsec(a: Announcement, r: OwnRecords, legacy: boolean, always = false): DnsRecord | undefined {
    const types = [...new Set(r.addresses.map((x) => x.type))].sort()
    if (!always && types.length === 2) return undefined
    return this.#nsec(a.hostName, types, r, legacy)
  }
}
