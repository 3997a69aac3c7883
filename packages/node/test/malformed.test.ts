// A raw, trusted QUIC client speaks to a real node and sends it bad frames: each is counted and
// dropped (or, for a bad first frame, the connection is refused), and the node keeps working.
import { generateIdentity, type Identity } from '@peer/identity'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { type Connection, createTransport, type MessageChannel, type Transport } from '@peer/transport-quic'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNode, type PeerNode } from '../src/index.js'
import { encodeEnvelope, encodeValue, MAX_REQUEST_ID } from '../src/internal.js'

let node: PeerNode
let raw: Identity
let transport: Transport
const handled: unknown[] = []

beforeAll(async () => {
  raw = await generateIdentity()
  node = await createNode({ name: 'target@localhost', trust: [raw.id], maxMessageSize: 64 * 1024 })
  node.handle('ok', (payload) => {
    handled.push(payload)
    return payload
  })
  transport = createTransport({ identity: raw, trust: () => true })
})
afterAll(async () => {
  await transport?.close()
  await node?.stop()
})

/** Dials the node, opens our channel, sends `first` and accepts the node's channel. */
async function connect(
  first: Uint8Array,
): Promise<{ conn: Connection; out: MessageChannel; inc: MessageChannel }> {
  const { conn, out } = await connectOnly(first)
  const inc = await conn.acceptChannel({ signal: AbortSignal.timeout(5000) })
  return { conn, out, inc }
}

/** `connect` without waiting for the node's channel (a node that closes may never open it). */
async function connectOnly(first: Uint8Array): Promise<{ conn: Connection; out: MessageChannel }> {
  const conn = await transport.dial(node.address, { expectedId: node.id })
  const out = await conn.openChannel()
  await out.send(first)
  await out.flush().catch(() => {})
  return { conn, out }
}

const hello = () => encodeEnvelope({ kind: 'hello', name: 'raw@localhost' }, 1024)

describe('malformed envelopes from a trusted peer are counted and dropped', () => {
  let out: MessageChannel
  let inc: MessageChannel
  let conn: Connection

  beforeAll(async () => {
    ;({ conn, out, inc } = await connect(hello()))
    await node.waitForPeer(raw.id)
    // the node's hello
    const first = await inc.receive({ signal: AbortSignal.timeout(5000) })
    expect(first).toBeDefined()
  })
  afterAll(async () => {
    await conn?.close('done')
  })

  const cases: Array<[string, Uint8Array]> = [
    ['not MessagePack', new Uint8Array([0xc1, 0xff, 0x00])],
    ['truncated MessagePack', new Uint8Array([0x95, 0x01])],
    ['not an array', encodeValue({ hello: 1 })],
    ['too short an array', encodeValue([1, 1, 't'])],
    ['unknown version', encodeValue([9, 1, 't', 0, null])],
    ['unknown kind', encodeValue([1, 42, 't', 0, null])],
    ['topic not a string', encodeValue([1, 1, 7, 0, null])],
    ['topic too long', encodeValue([1, 1, 'x'.repeat(300), 0, null])],
    ['empty topic on a request', encodeValue([1, 2, '', 1, null])],
    ['message with an id', encodeValue([1, 1, 'ok', 3, null])],
    ['request id out of range', encodeValue([1, 2, 'ok', MAX_REQUEST_ID + 1, null])],
    ['request id not an integer', encodeValue([1, 2, 'ok', 1.5, null])],
    ['err payload not a map', encodeValue([1, 4, 'ok', 1, 'boom'])],
    ['err payload with unknown type', encodeValue([1, 4, 'ok', 1, { type: 'x', name: 'E', message: 'm' }])],
    ['a second hello', hello()],
    ['an empty frame', new Uint8Array(0)],
  ]

  for (const [what, bytes] of cases) {
    it(what, async () => {
      const before = node.peer(raw.id)!.stats.malformed
      const total = node.stats.malformed
      await out.send(bytes)
      await out.flush()
      await waitFor(() => node.peer(raw.id)!.stats.malformed === before + 1, { what: `${what} counted` })
      expect(node.stats.malformed).toBe(total + 1)
    })
  }

  it('an answer to no request in flight is counted as unexpected, not malformed', async () => {
    const before = node.peer(raw.id)!.stats
    await out.send(encodeEnvelope({ kind: 'res', topic: 'ok', id: 77, payload: 1 }, 1024))
    await out.send(encodeEnvelope({ kind: 'pong', id: 78 }, 1024))
    await out.flush()
    await waitFor(() => node.peer(raw.id)!.stats.unexpected === before.unexpected + 2)
    expect(node.peer(raw.id)!.stats.malformed).toBe(before.malformed)
  })

  it('after all that the peer is still up and a valid request is answered', async () => {
    await out.send(encodeEnvelope({ kind: 'req', topic: 'ok', id: 5, payload: 'still here' }, 1024))
    await out.flush()
    const answer = await inc.receive({ signal: AbortSignal.timeout(5000) })
    const decoded = (await import('../src/internal.js')).decodeEnvelope(answer!)
    expect(decoded).toEqual({ kind: 'res', topic: 'ok', id: 5, payload: 'still here' })
    expect(node.peer(raw.id)).toBeDefined()
  })
})

describe('a connection whose first frame is not a valid hello never becomes peer:up', () => {
  it('a garbage first frame', async () => {
    const events = recordEvents(node, ['peer:up'])
    const { conn } = await connectOnly(new Uint8Array([1, 2, 3]))
    const info = await Promise.race([conn.closed, new Promise((r) => setTimeout(() => r('open'), 5000))])
    expect(info).not.toBe('open')
    expect(events.of('peer:up')).toEqual([])
    events.stop()
  })

  it('a request before hello', async () => {
    const events = recordEvents(node, ['peer:up'])
    const { conn } = await connectOnly(encodeEnvelope({ kind: 'req', topic: 'ok', id: 1, payload: 1 }, 1024))
    const info = await Promise.race([conn.closed, new Promise((r) => setTimeout(() => r('open'), 5000))])
    expect(info).not.toBe('open')
    expect(events.of('peer:up')).toEqual([])
    expect(handled).not.toContain(1)
    events.stop()
  })
})

it('a frame above maxMessageSize ends the connection; the node keeps serving others', async () => {
  const { conn, out } = await connect(hello())
  await node.waitForPeer(raw.id)
  const down = recordEvents(node, ['peer:down'])
  await out.send(new Uint8Array(200 * 1024)).catch(() => {})
  await out.flush().catch(() => {})
  const info = await Promise.race([conn.closed, new Promise((r) => setTimeout(() => r('open'), 8000))])
  expect(info).not.toBe('open')
  await waitFor(() => down.of('peer:down').length === 1, { what: 'peer:down' })
  expect(node.state).toBe('started')
})
