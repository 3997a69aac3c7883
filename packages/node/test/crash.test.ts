// A peer process killed with SIGKILL (no goodbye): the survivor sees peer:down through the
// transport's idle timeout, requests in flight fail typed, and the restarted peer comes back.
import { fileURLToPath } from 'node:url'
import { generateIdentity, type Identity } from '@peer/identity'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterAll, expect, it } from 'vitest'
import { createNode, type PeerNode, PeerUnavailableError } from '../src/index.js'

const fixture = fileURLToPath(new URL('./fixtures/node-child.ts', import.meta.url))
const children: RpcChild[] = []
let survivor: PeerNode | undefined
afterAll(async () => {
  await Promise.allSettled(children.map((c) => c.close(2000)))
  await survivor?.stop()
})

/** Starts the victim node (identity `theirs`, trusting `mine` at `survivor`) in a child process. */
async function startVictim(
  theirs: Identity,
  mine: Identity,
  survivor: { host: string; port: number },
  port = 0,
) {
  const child = await spawnChild(fixture)
  children.push(child)
  return child.call<{ id: string; address: { host: string; port: number } }>('start', {
    pem: { privateKeyPem: theirs.privateKeyPem, certificatePem: theirs.certificatePem },
    trust: [mine.id],
    peers: [{ id: mine.id, addresses: [survivor] }],
    name: 'victim@localhost',
    port,
  })
}

it('a killed peer goes down by idle timeout, fails its requests typed, and comes back after a restart', async () => {
  const [mine, theirs] = await Promise.all([generateIdentity(), generateIdentity()])
  const discovery = new ManualBackend()
  survivor = await createNode({
    identity: mine,
    trust: [theirs.id],
    name: 'survivor@localhost',
    discovery,
    lostHysteresisMs: 0,
    registry: { backoff: { initialDelayMs: 50, maxDelayMs: 500 }, dialTimeoutMs: 2000 },
    transport: { maxIdleTimeoutMs: 1500, keepAliveIntervalMs: 300 },
  })
  const start = () => startVictim(theirs, mine, survivor!.address, port)
  let port: number | undefined
  const first = await start()
  port = first.address.port
  discovery.announcePeer(theirs.id, [first.address])
  await survivor.waitForPeer('victim', { timeoutMs: 10_000 })
  expect(await survivor.request('victim', 'echo', 'hi')).toBe('hi')

  const events = recordEvents(survivor, ['peer:up', 'peer:down'])
  // the other way down is a liveness probe once this request times out (peer:down `unresponsive`,
  // about 22 s after the kill): the reason tells the two apart, so the wait for it can be generous
  const inFlight = survivor.request('victim', 'never', null, { timeoutMs: 20_000 }).catch((e: unknown) => e)
  await new Promise((r) => setTimeout(r, 100))
  await children[0]!.crash()
  await waitFor(() => events.of('peer:down').length === 1, { timeoutMs: 60_000, what: 'peer:down' })
  expect(events.of('peer:down')[0]!.detail).toMatchObject({
    id: theirs.id,
    reason: 'no packets from the peer within the idle timeout',
  })
  expect(await inFlight).toBeInstanceOf(PeerUnavailableError)

  let restarted: Awaited<ReturnType<typeof start>>
  try {
    restarted = await start()
  } catch (error) {
    // the port is back in the machine's ephemeral pool once the victim died, and any socket (of a
    // parallel test, of another process) may take it first: come back elsewhere then, as a peer
    // restarting with a dynamic port does
    if (!/already in use/i.test(String(error))) throw error
    port = undefined
    restarted = await start()
  }
  discovery.announcePeer(theirs.id, [restarted.address])
  await waitFor(() => events.of('peer:up').length === 1, { timeoutMs: 15_000, what: 'peer:up after restart' })
  expect(events.events.map((e) => e.type)).toEqual(['peer:down', 'peer:up'])
  expect(await survivor.request('victim', 'echo', 'again')).toBe('again')
}, 120_000)

it('a killed peer restarted elsewhere is taken back at once, while our own redial to it still hangs', async () => {
  // ours is the lower id: a fresh dial of ours would win a tie against the peer's inbound
  let [mine, theirs] = await Promise.all([generateIdentity(), generateIdentity()])
  if (mine.id > theirs.id) [mine, theirs] = [theirs, mine]
  const discovery = new ManualBackend()
  const node = await createNode({
    identity: mine,
    trust: [theirs.id],
    name: 'survivor@localhost',
    discovery,
    lostHysteresisMs: 0,
    // one long attempt per redial: it hangs on the dead address for the whole test
    registry: { backoff: { initialDelayMs: 50, maxDelayMs: 500 }, dialTimeoutMs: 120_000, probeAttemptMs: 0 },
    // a long idle timeout of our own: the handshake of a dial to the dead address hangs as long
    // (the connection's idle timeout is the lower of both sides': the victim's 1.5 s)
    transport: { maxIdleTimeoutMs: 120_000, keepAliveIntervalMs: 300, connectTimeoutMs: 120_000 },
  })
  const start = () => startVictim(theirs, mine, node.address)
  try {
    const first = await start()
    discovery.announcePeer(theirs.id, [first.address])
    await node.waitForPeer(theirs.id, { timeoutMs: 10_000 })
    const events = recordEvents(node, ['peer:up', 'peer:down'])
    await children.at(-1)!.crash()
    await waitFor(() => events.of('peer:down').length === 1, { timeoutMs: 10_000, what: 'peer:down' })
    // our redial to the dead address is under way, and stale
    const dialing = () => node.knownPeers().find((p) => p.id === theirs.id)?.state === 'dialing'
    await waitFor(dialing, { timeoutMs: 10_000, what: 'our redial' })
    await new Promise((r) => setTimeout(r, 300))
    // back on another port (discovery here still says the old one): it dials us
    await start()
    await waitFor(() => events.of('peer:up').length === 1, {
      timeoutMs: 30_000,
      what: 'peer:up after restart',
    })
    expect(events.of('peer:up')[0]!.detail).toMatchObject({ id: theirs.id, direction: 'inbound' })
    expect(await node.request(theirs.id, 'echo', 'again')).toBe('again')
    // our own redial was given up for it, not failed
    expect(node.registryStats?.dialFailures).toBe(0)
  } finally {
    await node.stop()
  }
}, 60_000)
