// Helpers over DNS records shared by the announcer, responder and querier: identity keys (for
// known-answer suppression and rate limits), TXT signatures, TTL clamping, record-set ordering.
import { DEFAULT_RECORD_LIMITS } from '@peer/discovery-core'
import { numberOption } from '@peer/discovery-core/internal'
import { MdnsConfigError } from './errors.js'
import { nameKey } from './instance-name.js'
import type { DnsPacket, DnsQuestion, DnsRecord } from './wire.js'

/** The `_services._dns-sd._udp.local` meta-query name (RFC 6763 section 9). */
export const SERVICES_META = '_services._dns-sd._udp.local'
/** The `.local` domain. */
export const DOMAIN = 'local'

/** A TXT record's strings as one comparable string. */
export function txtSignature(data: unknown): string {
  const list = Array.isArray(data) ? data : [data]
  return list.map((b) => Buffer.from(b as Buffer).toString('base64')).join(',')
}

/** Name, type and data of a record as one key (case-insensitive names). */
export function recordKey(x: DnsRecord): string {
  let data: string
  if (x.type === 'SRV') {
    const d = x.data as { target: string; port: number }
    data = `${nameKey(String(d?.target ?? ''))}:${d?.port}`
  } else if (x.type === 'TXT') data = txtSignature(x.data as Buffer[])
  else data = typeof x.data === 'string' ? nameKey(x.data) : JSON.stringify(x.data)
  return `${nameKey(String(x.name))}|${x.type}|${data}`
}

/** A received record's TTL, clamped to 0 .. maxTtl. */
export function ttlOf(r: DnsRecord): number {
  const ttl = typeof r.ttl === 'number' && Number.isFinite(r.ttl) ? r.ttl : 0
  return Math.min(Math.max(0, ttl), DEFAULT_RECORD_LIMITS.maxTtl)
}

/** True for a question with the unicast-response bit. */
export function isQu(q: DnsQuestion): boolean {
  if (q.qu === true) return true
  const cls = q.class as unknown
  if (typeof cls === 'number') return (cls & 0x8000) !== 0
  const m = /^UNKNOWN_(\d+)$/.exec(String(cls))
  return m !== null && (Number(m[1]) & 0x8000) !== 0
}

/** What identifies a query (its own multicast loopback copy is recognised by it). */
export function querySignature(packet: DnsPacket): string {
  const q = (packet.questions ?? []).map((x) => `${nameKey(x.name)}/${x.type}`).join(',')
  const k = (packet.answers ?? []).map((x) => recordKey(x)).join(',')
  const auth = (packet.authorities ?? []).map((x) => recordKey(x)).join(',')
  return `${q}#${k}#${auth}`
}

/** Simultaneous-probe tie-break (RFC 6762 section 8.2): > 0 when `theirs` is the later data. */
export function compareRecordSets(theirs: readonly DnsRecord[], ours: readonly DnsRecord[]): number {
  const enc = (xs: readonly DnsRecord[]) => xs.map((x) => `${x.type}|${recordKey(x).split('|')[2]}`).sort()
  const t = enc(theirs)
  const o = enc(ours)
  for (let i = 0; i < Math.min(t.length, o.length); i++) {
    if (t[i]! > o[i]!) return 1
    if (t[i]! < o[i]!) return -1
  }
  return t.length - o.length
}

/** Preference of an address when reporting: IPv4, then routable IPv6, then link-local. */
export function addressRank(address: string): number {
  if (!address.includes(':')) return 0
  return address.includes('%') ? 2 : 1
}

/** Rejects options that must be positive numbers. */
export function positive(value: number, name: string): number {
  return numberOption(value, name, value, { min: 0, exclusiveMin: true }, MdnsConfigError)
}
