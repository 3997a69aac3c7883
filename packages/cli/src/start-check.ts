import { resolve } from 'node:path'
import { formatHostPort } from '@peer/discovery-core'
import type { PeerConfig } from './config.js'
import { configWarnings } from './config-warnings.js'
import { loadConfiguredIdentity, loadConfiguredTrust } from './node-setup.js'
import type { Output } from './output.js'
import type { StartOptions } from './start-options.js'

/**
 * `peer start --check`: validates the configuration, the identity and the trust list, and prints
 * a summary with the configuration's warnings (see config-warnings.ts); no node starts.
 */
export async function check(config: PeerConfig, options: StartOptions, out: Output): Promise<void> {
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
  const warnings = configWarnings(config, trust)
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
}
