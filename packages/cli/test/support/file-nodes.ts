// `peer start` processes over the static files of one test directory: `dir/n<i>` identities,
// `dir/trust.json` (see makeIdentities in cluster.ts) and `dir/peers.json` (see writePeersFile).
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PeerProcess } from '../helpers.js'

/** One entry of a static peer list. */
export interface PeerEntry {
  id: string
  name: string
  addresses: string[]
  meta?: object
}

/** Replaces `dir/peers.json` at once (written aside, then renamed: the watcher never sees half a file). */
export async function writePeersFile(dir: string, peers: readonly PeerEntry[]): Promise<void> {
  await writeFile(join(dir, 'peers.tmp'), JSON.stringify({ version: 1, peers }))
  await rename(join(dir, 'peers.tmp'), join(dir, 'peers.json'))
}

/**
 * Starts node `i` (`n<i>@localhost` on 127.0.0.1:`ports[i]`) with the directory's trust and peer
 * files, printing JSON events and exiting with the test process; `extra` arguments are appended.
 */
export function startNode(
  dir: string,
  ports: readonly number[],
  i: number,
  extra: readonly string[] = [],
): PeerProcess {
  return new PeerProcess([
    'start',
    '--json',
    '--identity',
    join(dir, `n${i}`),
    '--name',
    `n${i}@localhost`,
    '--listen',
    `127.0.0.1:${ports[i]}`,
    '--trust-file',
    join(dir, 'trust.json'),
    '--peers-file',
    join(dir, 'peers.json'),
    '--exit-with-stdin',
    ...extra,
  ])
}
