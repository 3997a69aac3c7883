// An in-process discovery backend that announces: nodes publish their records (meta included) on a
// shared board and every other node's backend reports them. A user's own backend, built on the
// shared base class; used where a test needs announcements without an external service.
import { type AbortOptions, AbstractDiscoveryBackend, type LocalPeer } from '@peer/discovery-core'
import { generateIdentity } from '@peer/identity'
import { createNode, type NodeOptions, type PeerNode } from '../src/index.js'

/** An in-process bulletin board: the simplest publishing backend (announce, list, watch). */
export class Board extends EventTarget {
  readonly entries = new Map<string, LocalPeer>()
  set(peer: LocalPeer): void {
    this.entries.set(peer.id, peer)
    this.dispatchEvent(new CustomEvent('change', { detail: { id: peer.id } }))
  }
  delete(id: string): void {
    if (this.entries.delete(id)) this.dispatchEvent(new CustomEvent('change', { detail: { id } }))
  }
}

export class BoardDiscovery extends AbstractDiscoveryBackend {
  #me: string | undefined
  readonly #board: Board
  readonly #onChange = (event: Event) => this.#sync((event as CustomEvent<{ id: string }>).detail.id)
  constructor(board: Board) {
    super('board', ['announce', 'list', 'watch'])
    this.#board = board
  }
  protected async onStart(): Promise<void> {
    this.#board.addEventListener('change', this.#onChange)
    for (const id of this.#board.entries.keys()) this.#sync(id)
  }
  protected async onStop(): Promise<void> {
    this.#board.removeEventListener('change', this.#onChange)
  }
  async announce(self: LocalPeer, _options?: AbortOptions): Promise<void> {
    this.#me = self.id
    this.setSelfId(self.id)
    this.#board.set(self)
  }
  async withdraw(_options?: AbortOptions): Promise<void> {
    if (this.#me !== undefined) this.#board.delete(this.#me)
  }
  #sync(id: string): void {
    if (!this.active || id === this.#me) return
    const peer = this.#board.entries.get(id)
    if (peer === undefined) this.reportLost(id, 'withdrawn')
    else this.reportPeer(peer)
  }
}

/**
 * Starts one node per name (`<name>@localhost`), all trusting each other and announcing through
 * `board`; `options(i)` adds per-node options. Does not wait for the mesh.
 */
export async function startBoardNodes(
  board: Board,
  names: readonly string[],
  options: (i: number) => Partial<NodeOptions> = () => ({}),
): Promise<PeerNode[]> {
  const identities = await Promise.all(names.map(() => generateIdentity()))
  const trust = identities.map((i) => i.id)
  const nodes: PeerNode[] = []
  for (const [i, identity] of identities.entries()) {
    nodes.push(
      await createNode({
        identity,
        trust,
        name: `${names[i]}@localhost`,
        discovery: new BoardDiscovery(board),
        lostHysteresisMs: 0,
        ...options(i),
      }),
    )
  }
  return nodes
}
