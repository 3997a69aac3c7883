import DNS from 'dns2'
import { describe, expect, it } from 'vitest'
import { decodeResponse, MAX_RECORDS_PER_MESSAGE, MalformedDnsMessageError } from '../src/index.js'
import { encodeQuery } from '../src/internal.js'

const { Packet } = DNS

function response(answers: object[], mutate?: (p: DNS.Packet) => void): Buffer {
  const p = new Packet()
  p.header.id = 77
  p.header.qr = 1
  p.questions.push({ name: 'svc.test', type: Packet.TYPE.TXT, class: 1 } as DNS.Packet.Question)
  for (const a of answers)
    p.answers.push({ name: 'svc.test', class: 1, ttl: 60, ...a } as DNS.Packet.Resource)
  mutate?.(p)
  return p.toBuffer()
}

describe('decodeResponse', () => {
  it('keeps TXT character-strings apart (dns2 would join them)', () => {
    const r = decodeResponse(response([{ type: Packet.TYPE.TXT, data: ['id=abc', 'name=a@b', ''] }]))
    expect(r.answers).toEqual([
      { name: 'svc.test', ttl: 60, type: 'TXT', strings: ['id=abc', 'name=a@b', ''] },
    ])
    expect(r.question).toEqual({ name: 'svc.test', type: 16 })
    expect(r.id).toBe(77)
  })

  it('decodes SRV, A, AAAA and CNAME, lowercasing names', () => {
    const buf = response([
      { type: Packet.TYPE.SRV, priority: 1, weight: 2, port: 3, target: 'Node.Test' },
      { type: Packet.TYPE.A, address: '10.1.2.3' },
      { type: Packet.TYPE.AAAA, address: '2001:db8::1' },
      { type: Packet.TYPE.CNAME, domain: 'Other.Test' },
    ])
    expect(decodeResponse(buf).answers).toEqual([
      { name: 'svc.test', ttl: 60, type: 'SRV', priority: 1, weight: 2, port: 3, target: 'node.test' },
      { name: 'svc.test', ttl: 60, type: 'A', address: '10.1.2.3' },
      { name: 'svc.test', ttl: 60, type: 'AAAA', address: '2001:db8::1' },
      { name: 'svc.test', ttl: 60, type: 'CNAME', target: 'other.test' },
    ])
  })

  it('treats a TTL with the top bit set as 0 (RFC 2181 section 8)', () => {
    const buf = response([{ type: Packet.TYPE.A, address: '10.0.0.1' }])
    buf.writeUInt32BE(0xffffffff, buf.length - 4 - 2 - 4) // the TTL field of the only answer
    expect(decodeResponse(buf).answers[0]!.ttl).toBe(0)
  })

  it('rejects short, truncated and inconsistent messages', () => {
    const good = response([{ type: Packet.TYPE.A, address: '10.0.0.1' }])
    const cases: Array<[string, Buffer]> = [
      ['empty', Buffer.alloc(0)],
      ['11 bytes', Buffer.alloc(11)],
      ['cut in the answer', good.subarray(0, good.length - 2)],
      [
        'A with 5 bytes',
        (() => {
          const b = Buffer.concat([good, Buffer.from([9])])
          b.writeUInt16BE(5, good.length - 6)
          return b
        })(),
      ],
      [
        'more records than the message holds',
        (() => {
          const b = Buffer.from(good)
          b.writeUInt16BE(3, 6)
          return b
        })(),
      ],
      [
        'absurd record counts',
        (() => {
          const b = Buffer.from(good)
          b.writeUInt16BE(MAX_RECORDS_PER_MESSAGE, 6)
          b.writeUInt16BE(10, 8)
          return b
        })(),
      ],
      [
        'two questions',
        (() => {
          const b = Buffer.from(good)
          b.writeUInt16BE(2, 4)
          return b
        })(),
      ],
    ]
    for (const [what, buf] of cases) {
      expect(() => decodeResponse(buf), what).toThrow(MalformedDnsMessageError)
    }
  })

  it('rejects a compression pointer loop', () => {
    const header = Buffer.from([0, 1, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    const loop = Buffer.from([0xc0, 12, 0, 1, 0, 1]) // question name points at itself
    expect(() => decodeResponse(Buffer.concat([header, loop]))).toThrow(MalformedDnsMessageError)
  })
})

describe('encodeQuery', () => {
  it('adds an EDNS(0) OPT record unless the payload size is 512', () => {
    const withEdns = Packet.parse(encodeQuery('a.test', 'SRV', { id: 5 }).bytes)
    expect(withEdns.header.id).toBe(5)
    expect(withEdns.header.rd).toBe(1)
    expect(withEdns.questions[0]).toMatchObject({ name: 'a.test', type: Packet.TYPE.SRV })
    expect(withEdns.additionals).toHaveLength(1)
    expect(withEdns.additionals[0]!.class).toBe(1232)
    const plain = Packet.parse(encodeQuery('a.test', 'A', { udpPayloadSize: 512 }).bytes)
    expect(plain.additionals).toHaveLength(0)
  })
})
