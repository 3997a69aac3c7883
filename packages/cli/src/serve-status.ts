import type { AbortOptions } from '@peer/discovery-core'
import type { PeerNode } from '@peer/node'
import { ControlClient, type ControlClientOptions, ControlRefusedError } from './control-client.js'
import { CONTROL_PROTOCOL_VERSION } from './control-protocol.js'
import { ControlServer } from './control-server.js'
import { CliError } from './errors.js'
import { type ServicesSnapshot, servicesSnapshot } from './services-snapshot.js'
import { type StatusSnapshot, statusSnapshot } from './status-snapshot.js'
import { VERSION } from './version.js'

/**
 * Opens a control socket for `node` at `path` (mode 0600; a stale socket file is replaced), so
 * `peer status --control <path>` and `peer services --control <path>` show it: what `peer start`
 * does, for a node embedded in your own process. Close the returned server before stopping the node.
 */
export function serveStatus(
  node: PeerNode,
  path: string,
  options: AbortOptions = {},
): Promise<ControlServer> {
  const startedAt = Date.now()
  return ControlServer.listen(
    path,
    (method) => {
      switch (method) {
        case 'hello':
          return { protocol: CONTROL_PROTOCOL_VERSION, version: VERSION, id: node.id, pid: process.pid }
        case 'services':
          return servicesSnapshot(node)
        default:
          return statusSnapshot(node, { startedAt, version: VERSION })
      }
    },
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

/**
 * Reads the named services a running node knows (what `peer services --json` prints): the ones it
 * provides, and every provider of every service name in its members' records.
 */
export async function readServices(
  path: string,
  options: ControlClientOptions = {},
): Promise<ServicesSnapshot> {
  const client = await ControlClient.connect(path, options)
  try {
    return (await client.request('services', options)) as ServicesSnapshot
  } catch (error) {
    if (error instanceof ControlRefusedError && error.reason === 'UnknownMethod') {
      throw new CliError(
        `the node at ${path} runs an older peer that does not answer "services": restart it with this version`,
        { cause: error },
      )
    }
    throw error
  } finally {
    client.close()
  }
}
