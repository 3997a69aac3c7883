// Announce and withdraw: nodes that publish themselves through a discovery backend find each
// other with no static list, and a stopping node withdraws its announcement.
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterEach, expect, it } from 'vitest'
import type { PeerNode } from '../src/index.js'
import { Board, startBoardNodes } from './board-discovery.js'

const nodes: PeerNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
})

it('nodes announce themselves (name, addresses, meta) and form a cluster; stop withdraws the announcement', async () => {
  const board = new Board()
  nodes.push(...(await startBoardNodes(board, ['b0', 'b1', 'b2'], (i) => ({ meta: { role: `r${i}` } }))))
  const [n0, n1, n2] = nodes as [PeerNode, PeerNode, PeerNode]
  expect(board.entries.get(n1.id)).toEqual({
    id: n1.id,
    name: 'b1@localhost',
    addresses: [n1.address],
    meta: { role: 'r1' },
  })
  await waitFor(() => nodes.every((n) => n.peers().length === 2), { timeoutMs: 10_000, what: 'a full mesh' })
  expect(n0.discovery?.get(n2.id)?.meta).toEqual({ role: 'r2' })

  const lost = recordEvents(n0.discovery!, ['peer:lost'])
  const down = recordEvents(n0, ['peer:down'])
  await n2.stop()
  expect(board.entries.has(n2.id)).toBe(false)
  await waitFor(() => lost.of('peer:lost').length === 1 && down.of('peer:down').length === 1)
  expect(lost.of('peer:lost')[0]!.detail).toMatchObject({ reason: 'withdrawn' })
  expect(n0.peers().map((p) => p.id)).toEqual([n1.id])
})
