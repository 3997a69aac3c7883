// The factory users call: a node created and started in one step.
import type { AbortOptions } from '@peer/discovery-core'
import { PeerNode } from './node.js'
import type { NodeOptions } from './types.js'

/**
 * Creates and starts a node: loads or generates its identity, binds the QUIC listener, starts
 * discovery, announces itself and (with `connect: 'mesh'`) dials every trusted peer discovery
 * reports. `startOptions.signal` cancels the start (an `AbortError`; nothing is left running).
 *
 * @example
 * ```ts
 * const node = await createNode({ name: 'api', trust: [otherId], discovery: new StaticDiscovery({ peers }) })
 * node.handle('echo', (payload) => payload)
 * node.addEventListener('peer:up', (e) => console.log('up', e.detail.name))
 * const answer = await node.request('db@host', 'echo', { hello: 1 }, { timeoutMs: 2000 })
 * await node.stop()
 * ```
 */
export async function createNode(options: NodeOptions, startOptions: AbortOptions = {}): Promise<PeerNode> {
  const node = new PeerNode(options)
  await node.start(startOptions)
  return node
}
