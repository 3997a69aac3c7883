// The DNS codec, in the test process (no sockets): byte-exact instance labels (a dot inside a
// label stays inside it), interop with dns-packet (what multicast-dns and many tools use), the
// header plausibility check, name compression, and splitting of large queries.
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import {
  checkHeader,
  decodePacket,
  encodePacket,
  escapeLabel,
  FLAG_TC,
  MAX_MDNS_MESSAGE,
  nameToLabels,
  WireFormatError,
} from '../src/index.js'
import { PacketIntake, splitQuery } from '../src/internal.js'

const dnsPacket = createRequire(createRequire(import.meta.url).resolve('multicast-dns'))('dns-packet') as {
  encode(packet: unknown): Buffer
  decode(buf: Buffer): { questions: Array<{ name: string }>; answers: Array<{ name: string; data: unknown }> }
}

describe('names', () => {
  it('keeps a label with dots, spaces and UTF-8 as one label, byte for byte', () => {
    for (const label of ['4002@10.231.0.2', 'my web.server', 'köln.büro ☕', 'a\\b.c']) {
      const name = `${escapeLabel(label)}._peer._udp.local`
      const labels = nameToLabels(name)
      expect(labels.map((l) => l.toString())).toEqual([label, '_peer', '_udp', 'local'])
      const wire = encodePacket({
        type: 'response',
        answers: [{ name: '_peer._udp.local', type: 'PTR', ttl: 1, data: name }],
      })
      // the instance label is on the wire as one length-prefixed label
      expect(
        wire.includes(Buffer.concat([Buffer.from([Buffer.byteLength(label)]), Buffer.from(label)])),
      ).toBe(true)
      const back = decodePacket(wire)
      expect(back.answers![0]!.data).toBe(name)
    }
  })

  it('writes bytes that are not printable UTF-8 as \\DDD and reads them back', () => {
    const name = 'a\\255\\000b._peer._udp.local'
    const wire = encodePacket({ type: 'query', questions: [{ name, type: 'SRV' }] })
    expect(decodePacket(wire).questions![0]!.name).toBe(name)
  })

  it('rejects labels over 63 bytes and names over 255', () => {
    expect(() => nameToLabels(`${'x'.repeat(64)}.local`)).toThrow(WireFormatError)
    expect(() => nameToLabels(Array.from({ length: 5 }, () => 'y'.repeat(60)).join('.'))).toThrow(
      WireFormatError,
    )
  })
})

describe('packets', () => {
  const response = {
    type: 'response' as const,
    id: 0,
    flags: 0x400,
    answers: [
      { name: '_peer._udp.local', type: 'PTR', ttl: 4500, data: 'web\\.1._peer._udp.local' },
      {
        name: 'web\\.1._peer._udp.local',
        type: 'SRV',
        ttl: 120,
        flush: true,
        data: { target: 'peer-x.local', port: 4000, priority: 0, weight: 0 },
      },
      { name: 'web\\.1._peer._udp.local', type: 'TXT', ttl: 4500, flush: true, data: [Buffer.from('id=1')] },
      { name: 'peer-x.local', type: 'A', ttl: 120, flush: true, data: '10.0.0.1' },
      { name: 'peer-x.local', type: 'AAAA', ttl: 120, flush: true, data: 'fe80::1:2' },
      {
        name: 'peer-x.local',
        type: 'NSEC',
        ttl: 120,
        flush: true,
        data: { nextDomain: 'peer-x.local', rrtypes: ['A', 'AAAA'] },
      },
    ],
  }

  it('round-trips the records DNS-SD uses, with compression, and dns-packet reads them', () => {
    const wire = encodePacket(response)
    const back = decodePacket(wire)
    expect(back.type).toBe('response')
    expect(back.flags).toBe(0x400)
    expect(back.answers).toEqual(response.answers.map((a) => ({ class: 'IN', flush: false, ...a })))
    // compression: far smaller than the names written out
    expect(wire.length).toBeLessThan(200)
    const theirs = dnsPacket.decode(wire)
    expect(theirs.answers.map((a) => a.name)).toEqual(response.answers.map((a) => a.name.replace('\\.', '.')))
  })

  it('reads what dns-packet writes, including the QU bit', () => {
    const wire = dnsPacket.encode({
      type: 'query',
      questions: [{ name: '_peer._udp.local', type: 'PTR', class: 'IN' }],
      answers: [{ name: '_peer._udp.local', type: 'PTR', ttl: 10, data: 'x._peer._udp.local' }],
    })
    // the QU bit: top bit of the question's class (dns-packet cannot write it)
    const qclass = 12 + '_peer._udp.local'.length + 2 + 2
    wire[qclass] = wire[qclass]! | 0x80
    const back = decodePacket(wire)
    expect(back.questions).toEqual([{ name: '_peer._udp.local', type: 'PTR', class: 'IN', qu: true }])
    expect(back.answers![0]).toMatchObject({ type: 'PTR', data: 'x._peer._udp.local' })
  })

  it('rejects header counts the datagram cannot hold, before decoding', () => {
    const header = Buffer.from([0, 0, 0x84, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    expect(checkHeader(header)).toMatch(/need at least/)
    expect(() => decodePacket(header)).toThrow(WireFormatError)
    expect(checkHeader(Buffer.alloc(5))).toMatch(/shorter/)
    expect(checkHeader(encodePacket(response))).toBeUndefined()
  })

  it('drops such a header in the receive path without calling the decoder, and counts it', () => {
    let decodes = 0
    const intake = new PacketIntake({
      maxPacketsPerSecond: 1000,
      onLink: () => true,
      decode: (b) => {
        decodes++
        return decodePacket(b)
      },
    })
    const rinfo = { address: '10.0.0.2', port: 5353, family: 'IPv4' as const, size: 12 }
    const header = Buffer.from([0, 0, 0x84, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    for (let i = 0; i < 100; i++)
      expect(intake.accept(header, rinfo)).toMatchObject({ ok: false, reason: 'implausible' })
    expect(decodes).toBe(0)
    expect(intake.accept(encodePacket(response), rinfo)).toMatchObject({ ok: true })
    expect(decodes).toBe(1)
  })

  it('rejects compression loops and forward pointers', () => {
    const loop = Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])
    expect(() => decodePacket(loop)).toThrow(WireFormatError)
  })
})

describe('splitQuery', () => {
  it('keeps every message at most 9000 bytes, known answers continuing with TC', () => {
    const questions = Array.from({ length: 600 }, (_, i) => ({
      name: `instance-number-${i}-${'x'.repeat(20)}._peer._udp.local`,
      type: 'SRV',
    }))
    const known = Array.from({ length: 600 }, (_, i) => ({
      name: '_peer._udp.local',
      type: 'PTR',
      ttl: 4000,
      data: `instance-number-${i}-${'x'.repeat(20)}._peer._udp.local`,
    }))
    const packets = splitQuery(questions, known)
    expect(packets.length).toBeGreaterThan(2)
    for (const p of packets) expect(encodePacket(p).length).toBeLessThanOrEqual(MAX_MDNS_MESSAGE)
    expect(packets.flatMap((p) => p.questions ?? [])).toHaveLength(600)
    expect(packets.flatMap((p) => p.answers ?? [])).toHaveLength(600)
    const withKnown = packets.filter((p) => (p.answers?.length ?? 0) > 0)
    for (const p of withKnown.slice(0, -1)) expect(p.flags! & FLAG_TC).toBe(FLAG_TC)
    expect(withKnown.at(-1)!.flags! & FLAG_TC).toBe(0)
  })
})
