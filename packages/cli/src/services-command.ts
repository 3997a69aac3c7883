import { type AbortOptions, assertServiceName, shortId, throwIfAborted } from '@peer/discovery-core'
import Table from 'cli-table3'
import { Command } from 'commander'
import { UsageError } from './errors.js'
import { type CliIo, Output } from './output.js'
import { readServices } from './serve-status.js'
import type { ServicesSnapshot } from './services-snapshot.js'
import { controlPathOf } from './status-command.js'

/**
 * Options of {@link services}. `signal` cancels the read: it rejects with an `AbortError` (at once,
 * without connecting, when the signal is already aborted).
 */
export interface ServicesOptions extends AbortOptions {
  /**
   * The control socket; default `control.sock` in the identity directory (from `--identity` /
   * `--config`).
   */
  control?: string | undefined
  /** The node's identity directory (its control socket is `control.sock` in it). */
  identity?: string | undefined
  /** The node's configuration file (finds its identity directory). */
  config?: string | undefined
  /** Print the snapshot as one JSON object. */
  json?: boolean | undefined
}

/**
 * `peer services [name]`: asks a running `peer start` (through its control socket) for the named
 * services it knows: the ones it provides, and for every service name its trusted members'
 * discovery records list, the providers with their addresses, connection state and RTT. The running
 * node's view is the useful one: it is connected to the providers, so "connected" and the RTT mean
 * something (a short-lived node would first have to dial every provider).
 */
export async function services(name: string | undefined, options: ServicesOptions, io: CliIo): Promise<void> {
  throwIfAborted(options.signal)
  if (name !== undefined) {
    try {
      assertServiceName(name)
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error })
    }
  }
  const out = new Output(io, options)
  const path = await controlPathOf(options, io)
  const snapshot = await readServices(path, { signal: options.signal })
  const shown: ServicesSnapshot =
    name === undefined
      ? snapshot
      : {
          ...snapshot,
          services: snapshot.services.filter((s) => s.service === name),
        }
  if (name !== undefined && shown.services.length === 0) {
    shown.services = [{ service: name, provided: false, providers: [] }]
  }
  out.result(shown as unknown as Record<string, unknown>, renderServices(shown))
}

/** Renders a services snapshot as text: one table row per provider. */
export function renderServices(s: ServicesSnapshot): string {
  const lines = [`node      ${s.node.name} ${s.node.id}; provides ${s.node.provides.join(', ') || 'nothing'}`]
  if (s.services.length === 0) {
    lines.push('services  none known (no trusted member lists any in its discovery record)')
    return lines.join('\n')
  }
  const table = new Table({
    head: ['service', 'provider', 'id', 'addresses', 'connected', 'rtt ms'],
    colAligns: ['left', 'left', 'left', 'left', 'left', 'right'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  })
  for (const entry of s.services) {
    if (entry.provided)
      table.push([entry.service, `${s.node.name} (this node)`, shortId(s.node.id), '-', '-', '-'])
    for (const p of entry.providers) {
      table.push([
        entry.service,
        p.name ?? '-',
        shortId(p.id),
        p.addresses.join('\n') || '-',
        p.connected ? 'yes' : 'no',
        p.rttMs === undefined ? '-' : p.rttMs < 10 ? p.rttMs.toFixed(2) : p.rttMs.toFixed(1),
      ])
    }
    if (!entry.provided && entry.providers.length === 0)
      table.push([entry.service, '(no provider)', '-', '-', '-', '-'])
  }
  lines.push(table.toString())
  return lines.join('\n')
}

/** The `services` command for commander; `options.signal` cancels the read. */
export function servicesCommand(io: CliIo, options: AbortOptions = {}): Command {
  return new Command('services')
    .description('list the named services a running node (peer start) knows, with their providers')
    .argument('[name]', 'show this service only')
    .option('--control <path>', "the node's control socket (default: control.sock in the identity directory)")
    .option('-i, --identity <dir>', "the node's identity directory (finds its control socket)")
    .option('-c, --config <file>', "the node's configuration file (finds its identity directory)")
    .option('--json', 'the services as one JSON object')
    .addHelpText(
      'after',
      [
        '',
        'Talks to `peer start` over its control socket, like `peer status`: the running node is',
        'connected to the providers, so it knows which are up and their RTT. Providers are listed',
        'in the order `request({ service })` and `peer ping service:<name>` prefer them.',
        '',
        'Examples:',
        '  peer services --identity ./n1',
        '  peer services kv --config peer.json --json',
      ].join('\n'),
    )
    .action(async (name: string | undefined, opts: Omit<ServicesOptions, 'signal'>) =>
      services(name, { ...opts, signal: options.signal }, io),
    )
}
