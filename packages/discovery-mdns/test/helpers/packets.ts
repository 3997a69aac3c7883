// Packets for the attack tests: DNS-SD responses in the JSON shape the mdns-host fixture sends
// (TXT strings as base64), and a raw sniffer's view of what went over the group.
import { testId } from '@peer/testkit/ids'
import type { BackendHost } from '@peer/testkit/remote-backend'

export const SERVICE = '_peer._udp.local'
export const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64')

/** A JSON record the fixture can send. */
export interface JsonRecord {
  name: string
  type: string
  ttl?: number
  flush?: boolean
  data?: unknown
}

/** PTR, SRV, TXT and A of one instance (`label` unescaped, no dots). */
export function instanceRecords(
  label: string,
  opts: { port?: number; ttl?: number; address?: string; flush?: boolean } = {},
): JsonRecord[] {
  const instance = `${label}.${SERVICE}`
  const host = `${label}-host.local`
  const ttl = opts.ttl ?? 30
  const flush = opts.flush ?? true
  return [
    { name: SERVICE, type: 'PTR', ttl, data: instance },
    {
      name: instance,
      type: 'SRV',
      ttl,
      flush,
      data: { target: host, port: opts.port ?? 9000, priority: 0, weight: 0 },
    },
    {
      name: instance,
      type: 'TXT',
      ttl,
      flush,
      data: [b64(`id=${testId(label)}`), b64(`name=${label}@attack`)],
    },
    { name: host, type: 'A', ttl, flush, data: opts.address ?? '127.0.0.9' },
  ]
}

/** Sends responses encoded by the package's own codec (from port 5353). */
export async function sendResponses(host: BackendHost, answers: JsonRecord[][]): Promise<void> {
  // ten at a time with a pause, so that the receivers' socket buffers never overflow
  for (let i = 0; i < answers.length; i += 10) {
    const packets = answers.slice(i, i + 10).map((a) => ({ type: 'response', answers: a }))
    await host.child.call('sendEncoded', { packets }, { timeoutMs: 60_000 })
    if (i + 10 < answers.length) await new Promise((r) => setTimeout(r, 30))
  }
}

/** Sends one query encoded by the package's own codec (from port 5353). */
export function sendQuery(
  host: BackendHost,
  questions: Array<{ name: string; type: string }>,
  options: { known?: JsonRecord[]; flags?: number } = {},
): Promise<unknown> {
  return host.child.call('sendEncoded', {
    packets: [{ type: 'query', questions, answers: options.known ?? [], flags: options.flags ?? 0 }],
  })
}

/** What the fixture's raw sniffer recorded of one datagram (decoded with the package's own codec). */
export interface Sniffed {
  t: number
  size: number
  type: string
  flags: number
  questions: Array<{ name: string; type: string; qu: boolean }>
  answers: Array<{ name: string; type: string; ttl: number; data: unknown }>
  authorities: number
  additionals: Array<{ name: string; type: string; ttl: number; data: unknown }>
}

/** Starts the raw sniffer in the fixture; `read()` returns everything since. */
export async function sniff(host: BackendHost) {
  await host.child.call('rawSniffStart', {})
  return {
    read: () => host.child.call('rawSniffRead', {}) as Promise<Sniffed[]>,
    stop: () => host.child.call('rawSniffStop', {}),
  }
}
