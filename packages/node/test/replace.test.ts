// The peer redials while its old connection still looks alive here: the registry swaps the live
// connection, and the node moves the peer to the new one without a peer:down / peer:up flap.
import { generateIdentity } from '@peer/identity'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { createTransport, type Transport } from '@peer/transport-quic'
import { afterAll, expect, it } from 'vitest'
import { createNode, type PeerNode } from '../src/index.js'
import { decodeEnvelope, encodeEnvelope } from '../src/internal.js'

let node: PeerNode | undefined
let transport: Transport | undefined
afterAll(async () => {
  await transport?.close()
  await node?.stop()
})

it('a newer connection from the same peer takes over silently and carries the traffic', async () => {
  const raw = await generateIdentity()
  node = await createNode({ name: 'stable@localhost', trust: [raw.id] })
  node.handle('echo', (x) => x)
  transport = createTransport({ identity: raw, trust: () => true })
  const hello = encodeEnvelope({ kind: 'hello', name: 'flappy@localhost' }, 1024)
  const connect = async () => {
    const conn = await transport!.dial(node!.address, { expectedId: node!.id })
    const out = await conn.openChannel()
    await out.send(hello)
    await out.flush()
    const inc = await conn.acceptChannel({ signal: AbortSignal.timeout(5000) })
    expect(decodeEnvelope((await inc.receive({ signal: AbortSignal.timeout(5000) }))!).kind).toBe('hello')
    return { conn, out, inc }
  }
  const first = await connect()
  await node.waitForPeer(raw.id)
  const events = recordEvents(node, ['peer:up', 'peer:down'])
  // past the registry's simultaneous-dial window, a new inbound connection replaces the live one
  await new Promise((r) => setTimeout(r, 2200))
  const second = await connect()
  const closed = await Promise.race([
    first.conn.closed,
    new Promise((r) => setTimeout(() => r('open'), 5000)),
  ])
  expect(closed).not.toBe('open')
  await waitFor(() => node!.peer(raw.id)?.address.port === second.conn.localAddress.port, {
    what: 'the peer on the new connection',
  })
  await second.out.send(encodeEnvelope({ kind: 'req', topic: 'echo', id: 1, payload: 'via new' }, 1024))
  await second.out.flush()
  const answer = decodeEnvelope((await second.inc.receive({ signal: AbortSignal.timeout(5000) }))!)
  expect(answer).toEqual({ kind: 'res', topic: 'echo', id: 1, payload: 'via new' })
  expect(events.events).toEqual([])
  expect(node.peers()).toHaveLength(1)
  expect(await node.request(raw.id, 'anything', 1, { timeoutMs: 300 }).catch((e: Error) => e.name)).toBe(
    'RequestTimeoutError',
  )
})

it('a call made while a replaced connection closes waits for the new link instead of failing', async () => {
  const raw = await generateIdentity()
  const local = await createNode({ name: 'steady@localhost', trust: [raw.id] })
  const peer = createTransport({ identity: raw, trust: () => true })
  try {
    const hello = encodeEnvelope({ kind: 'hello', name: 'swapper@localhost' }, 1024)
    const first = await peer.dial(local.address, { expectedId: local.id })
    const firstOut = await first.openChannel()
    await firstOut.send(hello)
    await firstOut.flush()
    await local.waitForPeer(raw.id)
    // past the registry's simultaneous-dial window, a new inbound connection replaces the live
    // one; it sends no hello yet, so its link stays opening while the old connection closes
    await new Promise((r) => setTimeout(r, 2200))
    const second = await peer.dial(local.address, { expectedId: local.id })
    await first.closed
    const answered = local.request(raw.id, 'echo', 'via the new link', { timeoutMs: 30_000 })
    const failedEarly = await Promise.race([
      answered.then(
        () => false,
        () => true,
      ),
      new Promise<boolean>((r) => setTimeout(() => r(false), 300)),
    ])
    expect(failedEarly).toBe(false)
    // now the new connection says hello, and answers the request it gets on any of the node's lanes
    const out = await second.openChannel()
    await out.send(hello)
    await out.flush()
    void (async () => {
      for await (const channel of second.channels()) {
        void (async () => {
          for await (const bytes of channel) {
            const envelope = decodeEnvelope(bytes)
            if (envelope.kind !== 'req') continue
            await out.send(
              encodeEnvelope(
                { kind: 'res', topic: envelope.topic, id: envelope.id, payload: envelope.payload },
                1024,
              ),
            )
            await out.flush()
          }
        })().catch(() => {})
      }
    })().catch(() => {})
    expect(await answered).toBe('via the new link')
  } finally {
    await peer.close()
    await local.stop()
  }
})
