// The configuration of `peer start`, `peer ping` and `peer status`: the file (`--config`), then the
// node flags on top.
import { resolve } from 'node:path'
import type { AbortOptions } from '@peer/discovery-core'
import { type BackendConfig, loadConfigFile, type PeerConfig, parseConfig } from './config.js'
import { parsePeerSpec } from './discover-command.js'
import type { CliIo } from './output.js'
import type { NodeFlags } from './start-options.js'

/** The flag that sets each configuration field (for errors about the flags). */
const FLAG_NAMES: Readonly<Record<string, string>> = {
  name: '--name',
  identity: '--identity',
  createIdentity: '--create-identity',
  listen: '--listen',
  advertise: '--advertise',
  trust: '--trust',
  discovery: '--peer',
}

/**
 * Resolves the configuration of `peer start` / `peer ping`: the file (when `--config` is given),
 * then the flags on top. Errors name the file and field, or the flag.
 */
export async function resolveNodeConfig(
  flags: NodeFlags,
  io: CliIo,
  options: AbortOptions = {},
): Promise<PeerConfig> {
  const base =
    flags.config === undefined
      ? parseConfig({}, { file: 'command line', env: io.env })
      : await loadConfigFile(resolve(flags.config), { env: io.env, signal: options.signal })
  const raw: Record<string, unknown> = {}
  if (flags.name !== undefined) raw.name = flags.name
  if (flags.identity !== undefined) raw.identity = flags.identity
  if (flags.createIdentity !== undefined) raw.createIdentity = flags.createIdentity
  if (flags.listen !== undefined) raw.listen = flags.listen
  if (flags.advertise !== undefined) raw.advertise = flags.advertise
  if (flags.trustFile !== undefined || flags.trust !== undefined) {
    raw.trust = {
      ...(flags.trustFile === undefined ? {} : { file: flags.trustFile }),
      ...(flags.trust === undefined ? {} : { peers: flags.trust }),
    }
  }
  let staticEntry: Record<string, unknown> | undefined
  if (flags.peersFile !== undefined || flags.peer !== undefined) {
    staticEntry = {
      backend: 'static',
      ...(flags.peersFile === undefined ? {} : { file: flags.peersFile }),
      ...(flags.peer === undefined ? {} : { peers: flags.peer.map(parsePeerSpec) }),
    }
    raw.discovery = [staticEntry]
  }
  if (flags.logLevel !== undefined) raw.log = { level: flags.logLevel }
  const overlay = parseConfig(raw, { file: 'command line', env: io.env, fieldNames: FLAG_NAMES })
  const merged: PeerConfig = { ...base }
  if (raw.name !== undefined) merged.name = overlay.name
  if (raw.identity !== undefined) merged.identity = overlay.identity
  if (raw.createIdentity !== undefined) merged.createIdentity = overlay.createIdentity
  if (raw.listen !== undefined) merged.listen = overlay.listen
  if (raw.advertise !== undefined) merged.advertise = overlay.advertise
  if (raw.trust !== undefined) {
    merged.trust = {
      file: overlay.trust.file ?? base.trust.file,
      peers: [...base.trust.peers, ...overlay.trust.peers],
    }
  }
  if (staticEntry !== undefined) {
    const entry = overlay.discovery[0] as BackendConfig
    merged.discovery = [entry, ...base.discovery.filter((b) => b.backend !== 'static')]
  }
  if (raw.log !== undefined) merged.log = { ...base.log, level: overlay.log.level }
  return merged
}
