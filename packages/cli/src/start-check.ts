import { resolve } from 'node:path'
import { formatHostPort } from '@peer/discovery-core'
import { createBackend } from './backends.js'
import type { PeerConfig } from './config.js'
import { configWarnings, staticListedIds } from './config-warnings.js'
import { CliError } from './errors.js'
import { loadConfiguredIdentity, loadConfiguredTrust } from './node-setup.js'
import type { CliIo, Output } from './output.js'
import type { StartOptions } from './start-options.js'

/**
 * `peer start --check`: validates the configuration, the identity and the trust list, and prints
 * a summary with the configuration's warnings (see config-warnings.ts); no node starts. With
 * `reach`, then pings every trusted peer once as `peer ping --trusted` does, with the same flags.
 */
export async function check(
  config: PeerConfig,
  options: StartOptions,
  out: Output,
  io: CliIo,
): Promise<void> {
  const env = io.env
  // with createIdentity a missing identity is fine (it is made on first start); a broken one is not
  const identity = await loadConfiguredIdentity({ ...config, createIdentity: false }).then(
    (r) => r.identity,
    (error: unknown) => {
      if (config.createIdentity && (error as { message?: string }).message?.includes('does not exist'))
        return undefined
      throw error
    },
  )
  const trust = await loadConfiguredTrust(config)
  const listen = formatHostPort(config.listen.host, config.listen.port)
  const backends = config.discovery.map((b) => b.backend)
  // the static lists are read as a start reads them (a bad file fails here as it fails there)
  const statics = await Promise.all(
    config.discovery.map((entry) =>
      entry.backend === 'static'
        ? createBackend({ ...entry, watch: false }, { env, self: identity?.id })
        : undefined,
    ),
  )
  const listed = await staticListedIds(config, statics, { start: true })
  const warnings = configWarnings(config, trust, { listed, keyType: identity?.keyType, self: identity?.id })
  out.result(
    {
      ok: true,
      config: options.config === undefined ? undefined : resolve(options.config),
      id: identity?.id,
      name: config.name,
      listen,
      trusted: trust.size,
      backends,
      warnings,
    },
    [
      `ok: ${options.config ?? 'command line'}`,
      `  node      ${identity?.id ?? '(identity created on first start)'}${config.name ? ` ${config.name}` : ''}`,
      `  listen    ${listen}`,
      `  trust     ${trust.size} ids${config.trust.file ? ` (${config.trust.file})` : ''}`,
      `  discovery ${backends.join(', ') || 'none'}`,
      ...warnings.map((w) => `  warn      ${w}`),
    ],
  )
  if (options.reach !== true) return
  if (identity === undefined)
    throw new CliError(
      '--reach: the identity does not exist yet (createIdentity makes it on the first start): create it with `peer keygen` to reach peers with it',
    )
  // loaded on demand: ping-command imports this file's importer
  const { ping } = await import('./ping-command.js')
  const { check: _check, reach: _reach, listen: _listen, ...flags } = options
  await ping(undefined, { ...flags, trusted: true, listen: formatHostPort(config.listen.host, 0) }, io)
}
