// fast-check generators of valid peer values shared by several fuzz suites: node ids, host names,
// IP literals, addresses, node names and peer records (see docs/fuzzing.md).

import { encodeBase32, undialableHostProblem } from '@peer/discovery-core'
import fc from 'fast-check'

/** A well-formed node id: base32 of 32 random bytes. */
export const nodeIdArb: fc.Arbitrary<string> = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((bytes) => encodeBase32(bytes))

const labelArb = fc
  .stringMatching(/^[A-Za-z0-9_]([A-Za-z0-9_-]{0,14}[A-Za-z0-9_])?$/)
  .filter((label) => label.length <= 63)

/** A DNS host name that is not an IP literal (1-4 labels, optional trailing dot). */
export const hostNameArb: fc.Arbitrary<string> = fc
  .tuple(fc.array(labelArb, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([labels, dot]) => `${labels.join('.')}${dot && labels.length > 1 ? '.' : ''}`)
  .filter((host) => !/^[0-9.]+$/.test(host))

/** An IPv4 or IPv6 literal (IPv6 without brackets). */
export const ipArb: fc.Arbitrary<string> = fc.oneof(fc.ipV4(), fc.ipV6())

/** Any valid host: a name or an IP literal (the unspecified, multicast and broadcast ones too). */
export const hostArb: fc.Arbitrary<string> = fc.oneof(hostNameArb, ipArb)

/** An IP literal a peer can be dialed at: not unspecified, multicast or broadcast. */
export const dialableIpArb: fc.Arbitrary<string> = ipArb.filter(
  (ip) => undialableHostProblem(ip) === undefined,
)

/** A host a peer can be dialed at: a name or a dialable IP literal. */
export const dialableHostArb: fc.Arbitrary<string> = fc.oneof(hostNameArb, dialableIpArb)

/** A port in 1-65535. */
export const portArb: fc.Arbitrary<number> = fc.integer({ min: 1, max: 65535 })

/** `{ host, port }` that a peer record may carry: a dialable host (see `undialableHostProblem`). */
export const addressArb: fc.Arbitrary<{ host: string; port: number }> = fc.record({
  host: dialableHostArb,
  port: portArb,
})

/** The name part of `name@host`: letters, digits, `_`, `-`, not all digits. */
export const namePartArb: fc.Arbitrary<string> = fc
  .stringMatching(/^[A-Za-z0-9_-]{1,24}$/)
  .filter((name) => !/^[0-9]+$/.test(name))

/** A valid node name: `name@host` (short or long) or `port@ip`. */
export const nodeNameArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(namePartArb, hostArb).map(([name, host]) => `${name}@${host}`),
  fc.tuple(portArb, ipArb).map(([port, ip]) => `${port}@${ip}`),
  fc.tuple(portArb, fc.ipV6()).map(([port, ip]) => `${port}@[${ip}]`),
)

/** Metadata within the default record limits. */
export const metaArb: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  // not `services`: its value has a grammar of its own (service-list.fuzz.test.ts covers it)
  fc
    .stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/)
    .filter((k) => k.toLowerCase() !== 'services'),
  fc.string({ maxLength: 40 }).filter((v) => !/[\u0000-\u001f\u007f-\u009f]/.test(v)),
  { maxKeys: 6, noNullPrototype: true },
)

/** A valid local peer (id, optional name, distinct addresses, optional meta), as plain JSON data. */
export const localPeerArb = fc
  .record(
    {
      id: nodeIdArb,
      name: nodeNameArb,
      addresses: fc.uniqueArray(addressArb, {
        maxLength: 6,
        selector: (a) => `${a.host.toLowerCase()}|${a.port}`,
      }),
      meta: metaArb,
    },
    { requiredKeys: ['id', 'addresses'] },
  )
  .map(
    (peer) =>
      peer as {
        id: string
        name?: string
        addresses: Array<{ host: string; port: number }>
        meta?: Record<string, string>
      },
  )
