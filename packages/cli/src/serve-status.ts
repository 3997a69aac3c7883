import type { AbortOptions } from '@peer/discovery-core'
import type { PeerNode } from '@peer/node'
import { ControlClient, type ControlClientOptions } from './control-client.js'
import { CONTROL_PROTOCOL_VERSION } from './control-protocol.js'
import { ControlServer } from './control-server.js'
import { type StatusSnapshot, statusSnapshot } from './status-snapshot.js'
import { VERSION } from './version.js'

/**
 * Opens a control socket for `node` at `path` (mode 0600; a stale socket file is replaced), so
 * `peer status --control <path>` shows it: what `peer start` does, for a node embedded in your
 * own process. Close the returned server before stopping the node.
 */
export function serveStatus(
  node: PeerNode,
  path: string,
  options: AbortOptions = {},
): Promise<ControlServer> {
  const startedAt = Date.now()
  return ControlServer.listen(
    path,
    (method) =>
      method === 'hello'
        ? { protocol: CONTROL_PROTOCOL_VERSION, version: VERSION, id: node.id, pid: process.pid }
        : statusSnapshot(node, { startedAt, version: VERSION }),
    options,
  )
}

/** Reads the status of the node serving the control socket at `path` (what `peer status --json` prints). */
export async function readStatus(path: string, options: ControlClientOptions = {}): Promise<StatusSnapshot> {
  const client = await ControlClient.connect(path, options)
  try {
    return (await client.request('status', options)) as StatusSnapshot
  } finally {
    client.close()
  }
}
