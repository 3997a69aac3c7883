// A real in-process cluster: QUIC on loopback, peers announced by hand (the testkit's manual
// discovery backend), real identities.
import { generateIdentity, type Identity } from '@peer/identity'
import type { RpcChild } from '@peer/testkit/child-process'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { waitFor } from '@peer/testkit/wait'
import { createNode, type NodeOptions, type PeerNode } from '../src/index.js'

export interface Member {
  node: PeerNode
  identity: Identity
  discovery: ManualBackend
}

/** Fast redials so restarts are seen quickly in tests. */
export const FAST_REGISTRY = { backoff: { initialDelayMs: 50, maxDelayMs: 500 }, dialTimeoutMs: 3000 }

/** Starts one node with its own manual discovery backend (source `manual`). */
export async function startMember(
  identity: Identity,
  trust: NodeOptions['trust'],
  options: Partial<NodeOptions> = {},
): Promise<Member> {
  const discovery = new ManualBackend()
  const node = await createNode({
    identity,
    trust,
    discovery,
    lostHysteresisMs: 0,
    registry: FAST_REGISTRY,
    ...options,
  })
  return { node, identity, discovery }
}

/** Makes every member's discovery report every other member. */
export function introduce(members: readonly Member[]): void {
  for (const m of members) {
    for (const other of members) {
      if (other === m) continue
      m.discovery.announcePeer(other.node.id, [other.node.address], { name: other.node.name })
    }
  }
}

/**
 * Starts `count` nodes that trust each other, each with `options(i)` (named `n<i>@localhost`,
 * `stopTimeoutMs` 1 s), adds them to `into` as soon as they run (the caller's `afterEach` stops
 * them), introduces them and waits until each knows the others as members; it does not wait for
 * connections. Each answers requests on `echo` with their payload.
 */
export async function startMembers(
  count: number,
  options: (i: number) => Partial<NodeOptions>,
  into: Member[],
): Promise<Member[]> {
  const identities = await Promise.all(Array.from({ length: count }, () => generateIdentity()))
  const trust = identities.map((i) => i.id)
  const started = await Promise.all(
    identities.map((identity, i) =>
      startMember(identity, trust, { name: `n${i}@localhost`, stopTimeoutMs: 1000, ...options(i) }),
    ),
  )
  into.push(...started)
  introduce(started)
  await waitFor(() => started.every((m) => m.node.members().length === count - 1), {
    timeoutMs: 30_000,
    what: 'membership',
  })
  for (const m of started) m.node.handle('echo', (payload) => payload)
  return started
}

/** Starts `names.length` nodes that trust each other and waits until every pair is up. */
export async function startCluster(
  names: readonly string[],
  options: Partial<NodeOptions> = {},
): Promise<Member[]> {
  const identities = await Promise.all(names.map(() => generateIdentity()))
  const trust = identities.map((i) => i.id)
  const members = await Promise.all(
    identities.map((identity, i) =>
      startMember(identity, trust, { name: `${names[i]}@localhost`, ...options }),
    ),
  )
  introduce(members)
  await waitFor(() => members.every((m) => m.node.peers().length === members.length - 1), {
    timeoutMs: 15_000,
    what: 'a fully connected cluster',
  })
  return members
}

/** Stops every member (errors ignored, for afterEach/afterAll). */
export async function stopAll(members: readonly Member[]): Promise<void> {
  await Promise.allSettled(members.map((m) => m.node.stop()))
}

/** Starts the node in a `fixtures/node-child.ts` process as `identity`, trusting and dialing `peer`. */
export async function startChildNode(
  child: RpcChild,
  identity: Identity,
  peer: { id: string; address: { host: string; port: number } },
  options: { name: string; idleMs?: number },
): Promise<{ id: string; name: string; address: { host: string; port: number } }> {
  return child.call('start', {
    pem: { privateKeyPem: identity.privateKeyPem, certificatePem: identity.certificatePem },
    trust: [peer.id],
    peers: [{ id: peer.id, addresses: [peer.address] }],
    name: options.name,
    port: 0,
    ...(options.idleMs === undefined ? {} : { idleMs: options.idleMs }),
  })
}
