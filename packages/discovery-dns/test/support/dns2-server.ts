// An in-process authoritative DNS server on dns2 (UDP + TCP on the same 127.0.0.1 port, chosen by
// the OS), serving a zone the test mutates at run time, with fault injection per question.
import { createSocket } from 'node:dgram'
import DNS from 'dns2'

const { Packet } = DNS
type Packet = DNS.Packet

/** One record served. `data` depends on the type. */
export type ZoneRecord =
  | { name: string; type: 'A' | 'AAAA'; address: string; ttl?: number }
  | { name: string; type: 'CNAME'; target: string; ttl?: number }
  | { name: string; type: 'TXT'; strings: string[]; ttl?: number }
  | {
      name: string
      type: 'SRV'
      target: string
      port: number
      priority?: number
      weight?: number
      ttl?: number
    }

/** What the server does for a question instead of answering it (keys: `name TYPE`, `* TYPE`, `udp:*`, `tcp:*`, `*`). */
export type Fault =
  | 'servfail'
  | 'refused'
  | 'drop'
  | 'garbage'
  | 'short'
  | 'bad-rdata'
  | 'wrong-question'
  | 'pointer-loop'
  | 'txt-overrun'

export interface QueryLogEntry {
  name: string
  type: string
  transport: 'udp' | 'tcp'
  at: number
  /** The client's source port. */
  port: number
  /** The query id. */
  id: number
}

export interface Dns2TestServer {
  readonly port: number
  readonly address: string
  records: ZoneRecord[]
  /** TTL for records without one. */
  defaultTtl: number
  /** When set, negative answers carry this SOA (TTL and MINIMUM) in the authority section. */
  soa: { ttl: number; minimum: number } | undefined
  /** Follow CNAME chains inside answers as a recursive resolver would (default true). */
  followCnames: boolean
  /** Put the A/AAAA records of SRV targets in the additional section (default false). */
  additionals: boolean
  /** Records added to the additional section of every SRV answer. */
  extraAdditionals: ZoneRecord[]
  /** Faults by `name TYPE` (or `* TYPE`, or `*`). */
  faults: Map<string, Fault>
  readonly queries: QueryLogEntry[]
  queriesFor(name: string, type?: string): number
  close(): Promise<void>
}

const TYPE_NAMES: Record<number, string> = { 1: 'A', 5: 'CNAME', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 6: 'SOA' }

export async function startDns2Server(
  initial: ZoneRecord[] = [],
  host = '127.0.0.1',
): Promise<Dns2TestServer> {
  const queries: QueryLogEntry[] = []
  const state = {
    records: initial,
    defaultTtl: 5,
    soa: undefined as { ttl: number; minimum: number } | undefined,
    followCnames: true,
    additionals: false,
    extraAdditionals: [] as ZoneRecord[],
    faults: new Map<string, Fault>(),
  }

  const handle =
    (transport: 'udp' | 'tcp') =>
    (
      request: Packet,
      send: (r: Packet | Buffer) => void,
      client?: { port?: number; remotePort?: number },
    ) => {
      const [q] = request.questions
      if (!q) return
      const name = q.name.toLowerCase().replace(/\.$/, '')
      const type = TYPE_NAMES[q.type] ?? String(q.type)
      const port = client?.port ?? client?.remotePort ?? 0
      queries.push({ name, type, transport, at: Date.now(), port, id: request.header.id })
      if (queries.length > 100_000) queries.splice(0, 50_000)
      const fault =
        state.faults.get(`${name} ${type}`) ??
        state.faults.get(`* ${type}`) ??
        state.faults.get(`${transport}:*`) ??
        state.faults.get('*')
      if (fault === 'drop') return
      const response = Packet.createResponseFromRequest(request)
      response.header.aa = 1
      if (fault === 'servfail' || fault === 'refused') {
        response.header.rcode = fault === 'servfail' ? 2 : 5
        send(response)
        return
      }
      if (fault !== undefined) {
        send(malformed(fault, request))
        return
      }
      let owner = name
      const seen = new Set<string>()
      for (;;) {
        const here = state.records.filter((r) => r.name === owner)
        const matching = here.filter((r) => r.type === type)
        for (const r of matching) response.answers.push(toResource(r, state.defaultTtl))
        if (matching.length > 0) break
        const cname = here.find((r) => r.type === 'CNAME')
        if (cname === undefined || cname.type !== 'CNAME' || seen.has(owner)) break
        seen.add(owner)
        response.answers.push(toResource(cname, state.defaultTtl))
        if (!state.followCnames) break
        owner = cname.target
      }
      if (state.additionals && type === 'SRV') {
        for (const srv of response.answers) {
          const target = (srv as { target?: string }).target
          for (const r of state.records) {
            if (r.name === target && (r.type === 'A' || r.type === 'AAAA')) {
              response.additionals.push(toResource(r, state.defaultTtl))
            }
          }
        }
      }
      if (type === 'SRV') {
        for (const r of state.extraAdditionals) response.additionals.push(toResource(r, state.defaultTtl))
      }
      const exists = state.records.some((r) => r.name === owner)
      if (response.answers.length === 0 || (!exists && state.followCnames)) {
        if (!exists) response.header.rcode = 3
        if (state.soa) {
          response.authorities.push({
            name: 'test',
            type: Packet.TYPE.SOA,
            class: Packet.CLASS.IN,
            ttl: state.soa.ttl,
            primary: 'ns.test',
            admin: 'admin.test',
            serial: 1,
            refresh: 60,
            retry: 60,
            expiration: 600,
            minimum: state.soa.minimum,
          } as DNS.Packet.Resource)
        }
      }
      send(response)
    }

  // bind UDP on a free port, then TCP on the same number; if TCP's is taken, start over with
  // fresh sockets (a closed dgram socket cannot be bound again)
  let udp: DNS.UDPServer | undefined
  let tcp: DNS.TCPServer | undefined
  let port = 0
  for (let attempt = 0; udp === undefined; attempt++) {
    const u = DNS.createUDPServer({ type: host.includes(':') ? 'udp6' : 'udp4' } as never)
    u.on('request', handle('udp') as never)
    u.on('requestError', () => {})
    // a socket error of the test server must not crash the test: the client sees a timeout
    u.on('error', () => {})
    await new Promise<void>((resolve) => u.bind(0, host, () => resolve()))
    const candidate = u.address().port
    const t = DNS.createTCPServer(handle('tcp') as never)
    t.on('requestError', () => {})
    t.on('error', () => {})
    const ok = await new Promise<boolean>((resolve) => {
      t.once('error', () => resolve(false))
      t.listen(candidate, host, () => resolve(true))
    })
    if (ok) {
      udp = u
      tcp = t
      port = candidate
      break
    }
    await new Promise<void>((resolve) => u.close(() => resolve()))
    if (attempt > 20) throw new Error('could not bind UDP and TCP on one port')
  }
  const udpServer = udp
  const tcpServer = tcp!

  // the handler reads the settings from `state`, so the server object is `state` itself: tests
  // change a setting by assigning it, and the next query sees it
  const server: Dns2TestServer = Object.assign(state, {
    port,
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    queries,
    queriesFor(name: string, type?: string): number {
      return queries.filter((q) => q.name === name && (type === undefined || q.type === type)).length
    },
    async close() {
      await new Promise<void>((resolve) => udpServer.close(() => resolve()))
      await new Promise<void>((resolve) => {
        tcpServer.close(() => resolve())
        // connections the client left open would keep close() waiting
        setTimeout(resolve, 200).unref()
      })
    },
  })
  return server
}

function toResource(r: ZoneRecord, defaultTtl: number): DNS.Packet.Resource {
  const base = { name: r.name, class: Packet.CLASS.IN, ttl: r.ttl ?? defaultTtl }
  switch (r.type) {
    case 'A':
      return { ...base, type: Packet.TYPE.A, address: r.address } as DNS.Packet.Resource
    case 'AAAA':
      return { ...base, type: Packet.TYPE.AAAA, address: r.address } as DNS.Packet.Resource
    case 'CNAME':
      return { ...base, type: Packet.TYPE.CNAME, domain: r.target } as DNS.Packet.Resource
    case 'TXT':
      return { ...base, type: Packet.TYPE.TXT, data: r.strings } as DNS.Packet.Resource
    case 'SRV':
      return {
        ...base,
        type: Packet.TYPE.SRV,
        priority: r.priority ?? 10,
        weight: r.weight ?? 10,
        port: r.port,
        target: r.target,
      } as DNS.Packet.Resource
  }
}

function header(id: number, counts: [number, number, number, number]): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt16BE(id, 0)
  b.writeUInt16BE(0x8400, 2) // QR + AA, NOERROR
  for (const [i, c] of counts.entries()) b.writeUInt16BE(c, 4 + i * 2)
  return b
}

function questionBytes(request: Packet): Buffer {
  const q = request.questions[0]!
  return Buffer.from(Packet.Question.encode({ name: q.name, type: q.type, class: 1 } as DNS.Packet.Question))
}

function rr(type: number, rdata: Buffer, rdlength = rdata.length): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt16BE(0xc00c, 0) // name: pointer to the question name
  b.writeUInt16BE(type, 2)
  b.writeUInt16BE(1, 4)
  b.writeUInt32BE(30, 6)
  b.writeUInt16BE(rdlength, 10)
  return Buffer.concat([b, rdata])
}

/** Hand-made broken answers (the point is that they are broken: dns2 would not produce them). */
function malformed(fault: Fault, request: Packet): Buffer {
  const id = request.header.id
  const q = questionBytes(request)
  const qtype = request.questions[0]!.type
  switch (fault) {
    case 'short':
      return Buffer.from([id >> 8, id & 0xff, 0x84, 0x00, 0x00])
    case 'garbage': {
      const junk = Buffer.alloc(64, 0xff)
      junk.writeUInt16BE(id, 0)
      return junk
    }
    case 'bad-rdata':
      // an answer whose RDLENGTH claims more bytes than the message holds
      return Buffer.concat([header(id, [1, 1, 0, 0]), q, rr(qtype, Buffer.from([127, 0, 0, 1]), 200)])
    case 'wrong-question': {
      const other = Buffer.from(
        Packet.Question.encode({ name: 'other.invalid', type: qtype, class: 1 } as DNS.Packet.Question),
      )
      return Buffer.concat([header(id, [1, 0, 0, 0]), other])
    }
    case 'pointer-loop': {
      // an answer whose owner name is a compression pointer to itself
      const h = header(id, [1, 1, 0, 0])
      const offset = h.length + q.length
      const name = Buffer.from([0xc0 | (offset >> 8), offset & 0xff])
      const rest = Buffer.alloc(10)
      rest.writeUInt16BE(qtype, 0)
      rest.writeUInt16BE(1, 2)
      rest.writeUInt32BE(30, 4)
      rest.writeUInt16BE(4, 8)
      return Buffer.concat([h, q, name, rest, Buffer.from([127, 0, 0, 1])])
    }
    case 'txt-overrun':
      // a TXT character-string whose length byte runs past the RDATA
      return Buffer.concat([header(id, [1, 1, 0, 0]), q, rr(16, Buffer.from([50, 0x61, 0x62, 0x63]))])
    default:
      throw new Error(`unknown fault ${fault}`)
  }
}

/** A UDP port on 127.0.0.1 with nothing listening (for dead-resolver tests). */
export async function deadPort(): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))
  const { port } = s.address()
  await new Promise<void>((r) => s.close(() => r()))
  return port
}
