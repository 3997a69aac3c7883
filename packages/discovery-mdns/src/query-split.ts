// Splits a query into messages of at most 9000 bytes (RFC 6762 section 17). Questions fill
// messages first; known answers that do not fit continue in further messages, every one but the
// last with the TC bit (section 7.2). Sizes are counted without name compression, so they are an
// upper bound of what the encoder writes.

import {
  type DnsPacket,
  type DnsQuestion,
  type DnsRecord,
  FLAG_TC,
  MAX_MDNS_MESSAGE,
  nameWireSize,
} from './wire.js'

const HEADER = 12

/** Upper bound of a question's wire size. */
export function questionSize(q: DnsQuestion): number {
  return nameWireSize(q.name) + 4
}

/** Upper bound of a record's wire size (PTR, SRV, TXT, A, AAAA; others by their raw data). */
export function recordSize(r: DnsRecord): number {
  let rdata: number
  switch (r.type) {
    case 'A':
      rdata = 4
      break
    case 'AAAA':
      rdata = 16
      break
    case 'PTR':
      rdata = nameWireSize(String(r.data))
      break
    case 'SRV':
      rdata = 6 + nameWireSize((r.data as { target: string }).target)
      break
    case 'TXT':
      rdata = ((r.data as Uint8Array[] | undefined) ?? []).reduce((n, s) => n + 1 + s.length, 0) || 1
      break
    default:
      rdata = Buffer.isBuffer(r.data) ? r.data.length : 64
  }
  return nameWireSize(r.name) + 10 + rdata
}

/**
 * The messages for `questions` with `known` answers, each at most `limit` bytes. A question or
 * record larger than a message on its own is dropped (it cannot be sent).
 */
export function splitQuery(
  questions: readonly DnsQuestion[],
  known: readonly DnsRecord[],
  limit = MAX_MDNS_MESSAGE,
): DnsPacket[] {
  const packets: DnsPacket[] = []
  let current: { questions: DnsQuestion[]; answers: DnsRecord[]; size: number } | undefined
  const flush = () => {
    if (current !== undefined && (current.questions.length > 0 || current.answers.length > 0)) {
      packets.push({ type: 'query', id: 0, flags: 0, questions: current.questions, answers: current.answers })
    }
    current = undefined
  }
  /** Puts an item of `size` bytes into the current message, or a new one when it does not fit. */
  const place = (size: number, put: (c: NonNullable<typeof current>) => void) => {
    if (HEADER + size > limit) return
    if (current !== undefined && current.size + size > limit) flush()
    current ??= { questions: [], answers: [], size: HEADER }
    put(current)
    current.size += size
  }
  for (const q of questions) place(questionSize(q), (c) => c.questions.push(q))
  // known answers go with the last message of questions, then continue with TC
  const firstKnown = packets.length
  for (const r of known) place(recordSize(r), (c) => c.answers.push(r))
  flush()
  // every message with known answers but the last one says "more known answers follow"
  for (let i = Math.max(0, firstKnown - 1); i < packets.length - 1; i++) {
    const p = packets[i]!
    if ((p.answers?.length ?? 0) > 0) p.flags = FLAG_TC
  }
  return packets
}
