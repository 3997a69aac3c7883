// The dial time limit a user sets is the one dials get: the registry's `dialTimeoutMs` above the
// transport's own 10 s default raises the transport's (every dial ended at 10 s before, whatever
// the registry allowed: a path whose handshake takes longer could never connect), and a transport
// limit set below it is logged. Real QUIC on loopback; the peer is a UDP socket that never answers.
import { generateIdentity } from '@peer/identity'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { silentUdpSocket } from '@peer/testkit/silent-udp'
import { nextEvent } from '@peer/testkit/wait'
import { afterEach, expect, it } from 'vitest'
import { createNode, type PeerNode } from '../src/index.js'

const nodes: PeerNode[] = []
const closers: Array<() => void> = []
afterEach(async () => {
  for (const close of closers.splice(0)) close()
  await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
})

it("a registry dialTimeoutMs above the transport's default is the dial's limit", async () => {
  const [mine, theirs] = await Promise.all([generateIdentity(), generateIdentity()])
  const { socket: hole, port: holePort } = await silentUdpSocket()
  closers.push(() => hole.close())
  const discovery = new ManualBackend()
  const node = await createNode({
    identity: mine,
    trust: [theirs.id],
    discovery,
    lostHysteresisMs: 0,
    registry: { dialTimeoutMs: 12_000 },
  })
  nodes.push(node)
  const failed = nextEvent<CustomEvent<{ error: Error }>>(node, 'peer:dial-failed', undefined, 120_000)
  discovery.announcePeer(theirs.id, [{ host: '127.0.0.1', port: holePort }])
  // the registry's limit ended it, not the transport's ("no QUIC answer ... within 10000 ms")
  expect((await failed).detail.error.message).toMatch(/timed out after 12000 ms/)
}, 180_000)

it('a transport connectTimeoutMs below the registry dialTimeoutMs is logged as a warning', async () => {
  const { factory, records } = recordingLogger()
  const node = await createNode({
    trust: [],
    logger: factory,
    registry: { dialTimeoutMs: 20_000 },
    transport: { connectTimeoutMs: 5000 },
  })
  nodes.push(node)
  expect(records.filter((r) => r.level === 'warn').map((r) => [r.message, r.fields])).toContainEqual([
    'transport.connectTimeoutMs ends every dial before registry.dialTimeoutMs',
    { connectTimeoutMs: 5000, dialTimeoutMs: 20_000 },
  ])
})
