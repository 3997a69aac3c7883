import type { DiscoveryBackend, LoggerFactory } from '@peer/discovery-core'
import { StaticDiscovery } from '@peer/discovery-static'
import type { BackendConfig } from './config.js'

/** Options shared by every backend the CLI creates. */
export interface CreateBackendOptions {
  /** This node's id: never reported as a peer. */
  self?: string | undefined
  /** Logger factory (silent by default). */
  logger?: LoggerFactory | undefined
  /**
   * The environment a static backend reads its `env` variable from (the command's `CliIo.env`).
   * Default `process.env`.
   */
  env?: NodeJS.ProcessEnv | undefined
}

/**
 * Creates the discovery backend a configuration entry describes. Backends other than `static` are
 * loaded on first use, so `peer keygen` never pays for gRPC or multicast code.
 */
export async function createBackend(
  config: BackendConfig,
  options: CreateBackendOptions = {},
): Promise<DiscoveryBackend> {
  const common = {
    ...(options.self === undefined ? {} : { self: options.self }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  }
  switch (config.backend) {
    case 'static':
      return new StaticDiscovery({
        ...common,
        ...(config.peers === undefined
          ? {}
          : {
              peers: config.peers.map((p) => ({
                id: p.id,
                addresses: p.addresses,
                ...(p.name === undefined ? {} : { name: p.name }),
                ...(p.meta === undefined ? {} : { meta: p.meta }),
              })),
            }),
        ...(config.file === undefined ? {} : { file: config.file }),
        ...(config.watch === undefined ? {} : { watch: config.watch }),
        ...(config.env === undefined ? {} : { env: config.env }),
        ...(options.env === undefined ? {} : { environment: options.env }),
      })
    case 'dns': {
      const { DnsDiscovery } = await import('@peer/discovery-dns')
      const { backend: _backend, ...rest } = config
      return new DnsDiscovery({ ...common, ...definedOnly(rest) })
    }
    case 'mdns': {
      const { MdnsDiscovery } = await import('@peer/discovery-mdns')
      const families = config.families
      return new MdnsDiscovery({
        ...common,
        ...(config.service === undefined ? {} : { serviceType: config.service }),
        ...(config.ttl === undefined ? {} : { ttl: config.ttl }),
        ...(config.interfaces === undefined && families === undefined
          ? {}
          : {
              interfaces: {
                ...(config.interfaces === undefined ? {} : { allow: config.interfaces }),
                ...(families === undefined ? {} : { ipv4: families.includes(4), ipv6: families.includes(6) }),
              },
            }),
      })
    }
    case 'etcd': {
      const { EtcdDiscovery } = await import('@peer/discovery-etcd')
      return new EtcdDiscovery({
        ...common,
        endpoints: config.endpoints,
        ...(config.prefix === undefined ? {} : { prefix: config.prefix }),
        ...(config.ttl === undefined ? {} : { ttl: config.ttl }),
        ...(config.staleAfterMs === undefined ? {} : { staleAfterMs: config.staleAfterMs }),
        ...(config.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.requestTimeoutMs }),
      })
    }
  }
}

function definedOnly<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
