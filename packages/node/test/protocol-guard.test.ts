// A trusted peer cannot degrade a node cheaply: a raw QUIC client (trusted) sends garbage frames,
// stalls inside a frame, or churns byte streams; the node closes the connection with the
// transport's PROTOCOL_ERROR application code and a reason the client can read.
import { generateIdentity, type Identity } from '@peer/identity'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import {
  CODE,
  type Connection,
  createTransport,
  type MessageChannel,
  type Stream,
  type Transport,
} from '@peer/transport-quic'
import { KIND_CHANNEL } from '@peer/transport-quic/internal'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createNode, type NodeOptions, type PeerNode } from '../src/index.js'
import { encodeEnvelope } from '../src/internal.js'

let raw: Identity
let transport: Transport
const nodes: PeerNode[] = []

beforeAll(async () => {
  raw = await generateIdentity()
  transport = createTransport({ identity: raw, trust: () => true })
})
afterEach(async () => {
  await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
})
afterAll(async () => {
  await transport?.close()
})

async function target(options: Partial<NodeOptions>): Promise<PeerNode> {
  const node = await createNode({ name: 'guarded@localhost', trust: [raw.id], ...options })
  nodes.push(node)
  return node
}

const hello = () => encodeEnvelope({ kind: 'hello', name: 'raw@localhost' }, 1024)

/** Dials `node`, says hello on a channel and waits until the node has the client up. */
async function connect(node: PeerNode): Promise<{ conn: Connection; out: MessageChannel }> {
  const conn = await transport.dial(node.address, { expectedId: node.id })
  const out = await conn.openChannel()
  await out.send(hello())
  await out.flush()
  await node.waitForPeer(raw.id, { timeoutMs: 10_000 })
  return { conn, out }
}

describe('a trusted peer that breaks the protocol is disconnected', () => {
  it('after maxProtocolErrors garbage frames, with PROTOCOL_ERROR and a readable reason', async () => {
    const node = await target({ maxProtocolErrors: 5 })
    const { conn, out } = await connect(node)
    for (let i = 0; i < 5; i++) await out.send(new Uint8Array([0xc1, i]))
    await out.flush()
    // five are tolerated (counted): the connection stays up
    await waitForStat(node, 5)
    expect(conn.isClosed).toBe(false)
    await out.send(new Uint8Array([0xc1, 0xff]))
    await out.flush()
    const info = await conn.closed
    expect(info.by).toBe('remote')
    expect(info.code).toBe(CODE.PROTOCOL_ERROR)
    expect(info.reason).toMatch(/protocol error: more than 5 protocol errors/)
    expect(node.stats.protocolErrors).toBe(6)
    expect(node.stats.malformed).toBe(6)
  })

  it('when a frame stalls half-sent for partialFrameTimeoutMs', async () => {
    const node = await target({ partialFrameTimeoutMs: 300 })
    const conn = await transport.dial(node.address, { expectedId: node.id })
    // a channel written by hand: the hello frame, then a frame header announcing 1,000 bytes and 10 of them
    const opener = conn as unknown as { openStreamWithKind(kind: number): Promise<Stream> }
    const stream = await opener.openStreamWithKind(KIND_CHANNEL)
    const writer = stream.writable.getWriter()
    const h = hello()
    const frame = new Uint8Array(4 + h.byteLength + 4 + 10)
    const view = new DataView(frame.buffer)
    view.setUint32(0, h.byteLength)
    frame.set(h, 4)
    view.setUint32(4 + h.byteLength, 1000)
    await writer.write(frame)
    const info = await conn.closed
    expect(info.code).toBe(CODE.PROTOCOL_ERROR)
    expect(info.reason).toMatch(/stalled inside a frame/)
  })

  it('when it opens byte streams faster than maxStreamOpensPerSecond', async () => {
    const node = await target({ maxStreamOpensPerSecond: 2, maxProtocolErrors: 3 })
    const { conn } = await connect(node)
    const streams: Stream[] = []
    for (let i = 0; i < 20 && !conn.isClosed; i++) {
      try {
        const s = await conn.openStream()
        // a valid header for a topic without a handler: each stream costs the node a lookup only
        const w = s.writable.getWriter()
        w.write(Uint8Array.of(1, 0, 1, 0x78)).catch(() => {})
        w.releaseLock()
        streams.push(s)
      } catch {
        break // the connection closed under us
      }
    }
    const info = await conn.closed
    expect(info.code).toBe(CODE.PROTOCOL_ERROR)
    expect(info.reason).toMatch(/byte stream opens per second/)
    expect(node.stats.protocolErrors).toBeGreaterThan(3)
  })
})

describe('byte streams a peer opens are bounded in time', () => {
  it('a stream whose header never comes is refused after helloTimeoutMs, counted as a protocol error', async () => {
    const node = await target({ helloTimeoutMs: 300 })
    node.handleStream('t', () => {})
    const { conn } = await connect(node)
    const silent = await conn.openStream()
    // nothing written: the node gives up on the header, refuses the stream and counts it
    const reader = silent.readable.getReader()
    const refusal = await reader.read()
    expect(refusal.done).toBe(false)
    expect(refusal.value?.byteLength).toBe(1)
    expect(node.stats.protocolErrors).toBe(1)
    expect(conn.isClosed).toBe(false)
  })
})

describe('byte streams this node opens', () => {
  it('a peer that resets the stream instead of answering is a StreamRefusedError (reason reset), not a raw transport error', async () => {
    const node = await target({})
    const { conn } = await connect(node)
    const resetting = (async () => {
      const stream = await conn.acceptStream()
      stream.reset(7) // no status byte: what a peer whose handler failed at once may look like
    })()
    const refused = await node.openStream(raw.id, 'files').catch((error: unknown) => error)
    await resetting
    expect(refused).toMatchObject({
      name: 'StreamRefusedError',
      reason: 'reset',
      peer: raw.id,
      topic: 'files',
    })
    expect((refused as Error).message).toMatch(/it reset the stream before its answer arrived/)
    expect((refused as Error).cause).toMatchObject({ name: 'StreamResetError' })
    expect(conn.isClosed).toBe(false)
  })
})

describe('lanes a peer opens are bounded', () => {
  it('a duplicate or out-of-range lane is reset and counted as a protocol error', async () => {
    const node = await target({})
    node.handle('ok', (x) => x)
    const { conn } = await connect(node)
    const lane = async (id: number) => {
      const channel = await conn.openChannel()
      await channel.send(encodeEnvelope({ kind: 'lane', id }, 1024))
      await channel.flush()
      return channel
    }
    const good = await lane(2)
    await good.send(encodeEnvelope({ kind: 'msg', topic: 'ok', payload: 1 }, 1024))
    await lane(2) // the same lane again
    await lane(9) // lane 8: there are 7
    await waitForStat(node, 2)
    expect(node.peer(raw.id)!.stats.protocolErrors).toBe(2)
    expect(conn.isClosed).toBe(false)
  })
})

describe('stream churn', () => {
  it('streams of an unknown kind count as protocol errors: the churner is disconnected, a legitimate peer is not', async () => {
    const node = await target({ maxProtocolErrors: 8 })
    const friend = await generateIdentity()
    node.trust!.add(friend.id)
    const discovery = new ManualBackend()
    const legit = await createNode({ name: 'legit@localhost', identity: friend, trust: [node.id], discovery })
    nodes.push(legit)
    node.handle('echo', (x) => x)
    discovery.announcePeer(node.id, [node.address], { name: node.name })
    await legit.waitForPeer(node.id, { timeoutMs: 10_000 })
    const { conn } = await connect(node)
    const opener = conn as unknown as { openStreamWithKind(kind: number): Promise<Stream> }
    for (let i = 0; i < 200 && !conn.isClosed; i++) {
      try {
        const s = await opener.openStreamWithKind(0x7f)
        s.writable
          .getWriter()
          .write(Uint8Array.of(0))
          .catch(() => {})
      } catch {
        break
      }
    }
    const info = await conn.closed
    expect(info.code).toBe(CODE.PROTOCOL_ERROR)
    expect(info.reason).toMatch(/unknown stream kind/)
    // the node still serves the legitimate peer
    expect(await legit.request(node.id, 'echo', 'still here', { timeoutMs: 10_000 })).toBe('still here')
    expect(legit.peer(node.id)).toBeDefined()
  })
})

async function waitForStat(node: PeerNode, errors: number): Promise<void> {
  const { waitFor } = await import('@peer/testkit/wait')
  await waitFor(() => node.stats.protocolErrors >= errors, { what: `${errors} protocol errors counted` })
}
