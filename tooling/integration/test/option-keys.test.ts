// Unknown option names (one convention across packages): every constructor that takes an options
// object reads exactly the options its API report documents, and warns once per name about any
// other key (`PEER_UNKNOWN_OPTION`, suggesting the known name it looks like). Checked against the
// reports, so an option added to an interface but not to its constructor's list fails here.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Discovery } from '@peer/discovery-core'
import { DnsDiscovery } from '@peer/discovery-dns'
import { EtcdDiscovery } from '@peer/discovery-etcd'
import { MdnsDiscovery } from '@peer/discovery-mdns'
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode, type NodeOptions } from '@peer/node'
import { PeerRegistry, ServerRegistry } from '@peer/registry'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { createTransport } from '@peer/transport-quic'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { repoRoot } from '../src/published.js'

/** The members of `name` in a package's API report, with those of the interfaces it extends. */
async function documentedKeys(pkg: string, name: string): Promise<string[]> {
  const report = await readFile(join(repoRoot, 'packages', pkg, 'api', `${pkg}.api.md`), 'utf8')
  const block = new RegExp(`^export interface ${name}\\b([^{]*)\\{\\n([\\s\\S]*?)^\\}`, 'm').exec(report)
  if (block === null) throw new Error(`${name} is not in the ${pkg} API report`)
  const own = [...block[2]!.matchAll(/^ {4}(?:readonly )?(\w+)\??:/gm)].map((m) => m[1]!)
  const header = block[1]!.replace(/^<[^>]*>/, '') // the interface's own type parameters
  const bases = /extends ([\w, <>=]+)/.exec(header)?.[1]?.split(',') ?? []
  const inherited: string[] = []
  for (const base of bases.map((b) => b.trim().replace(/<.*$/, ''))) {
    if (base === 'BackendOptions') inherited.push(...(await documentedKeys('discovery-core', base)))
    else if (base === 'TransportTuning') inherited.push(...(await documentedKeys('transport-quic', base)))
    else if (base !== '') throw new Error(`${name} extends ${base}: teach this test where it is`)
  }
  return [...own, ...inherited]
}

let warnings: string[] = []
const onWarning = (w: Error & { code?: string }) => {
  if (w.code === 'PEER_UNKNOWN_OPTION') warnings.push(w.message)
}
beforeEach(() => {
  warnings = []
  process.on('warning', onWarning)
})
afterEach(() => {
  process.off('warning', onWarning)
})
const settle = () => new Promise((resolve) => setImmediate(resolve))

const identity = await generateIdentity()
interface Case {
  owner: string
  pkg: string
  iface: string
  /** Options that must have a value; every other documented key is given as `undefined`. */
  base: Record<string, unknown>
  make(options: Record<string, unknown>): Promise<unknown> | unknown
}
const cases: Case[] = [
  {
    owner: 'Discovery',
    pkg: 'discovery-core',
    iface: 'DiscoveryOptions',
    base: { backends: [new ManualBackend()] },
    make: (o) => new Discovery(o as never),
  },
  {
    owner: 'StaticDiscovery',
    pkg: 'discovery-static',
    iface: 'StaticDiscoveryOptions',
    base: {},
    make: (o) => new StaticDiscovery(o),
  },
  {
    owner: 'EtcdDiscovery',
    pkg: 'discovery-etcd',
    iface: 'EtcdDiscoveryOptions',
    base: { endpoints: ['http://127.0.0.1:2379'] },
    make: (o) => new EtcdDiscovery(o as never),
  },
  {
    owner: 'DnsDiscovery',
    pkg: 'discovery-dns',
    iface: 'DnsDiscoveryOptions',
    base: { domain: 'peer.test', resolvers: ['127.0.0.1:53'] },
    make: (o) => new DnsDiscovery(o as never),
  },
  {
    owner: 'MdnsDiscovery',
    pkg: 'discovery-mdns',
    iface: 'MdnsDiscoveryOptions',
    base: {},
    make: (o) => new MdnsDiscovery(o),
  },
  {
    owner: 'PeerRegistry',
    pkg: 'registry',
    iface: 'PeerRegistryOptions',
    base: {
      self: identity.id,
      transport: {
        dial: async () => {
          throw new Error('no')
        },
      },
      trust: () => true,
    },
    make: (o) => new PeerRegistry(o as never),
  },
  {
    owner: 'ServerRegistry',
    pkg: 'registry',
    iface: 'ServerRegistryOptions',
    base: {},
    make: (o) => new ServerRegistry(o),
  },
  {
    owner: 'createTransport',
    pkg: 'transport-quic',
    iface: 'TransportOptions',
    base: { identity, trust: () => true },
    make: (o) => createTransport(o as never),
  },
  {
    owner: 'createNode',
    pkg: 'node',
    iface: 'NodeOptions',
    base: { identity, trust: [] },
    make: async (o) => (await createNode(o as unknown as NodeOptions)).stop(),
  },
]

describe('every constructor reads the options its API report documents, and warns about others', () => {
  it.each(cases)('$owner', async ({ owner, pkg, iface, base, make }) => {
    const keys = await documentedKeys(pkg, iface)
    expect(keys.length).toBeGreaterThan(2)
    // every documented key, given (as undefined: the default), is known
    const all: Record<string, unknown> = Object.fromEntries(keys.map((k) => [k, undefined]))
    await make({ ...all, ...base })
    await settle()
    expect(warnings).toEqual([])
    // a key one letter off a documented one: one warning, naming the owner and the right name
    const key = keys.find((k) => k.length > 5 && !(k in base))!
    const typo = `${key.slice(0, -1)}`
    await make({ ...base, [typo]: 1 })
    await make({ ...base, [typo]: 1 }) // once per owner and name
    await settle()
    expect(warnings).toEqual([`${owner}: unknown option \`${typo}\` is ignored; did you mean \`${key}\`?`])
  })
})

describe("createNode's nested settings (registry, transport) are checked against their own interfaces", () => {
  const nested = [
    { key: 'registry', iface: 'NodeRegistryOptions' },
    { key: 'transport', iface: 'NodeTransportOptions' },
  ] as const
  const make = async (settings: Record<string, unknown>) =>
    (await createNode({ identity, trust: [], ...settings } as unknown as NodeOptions)).stop()

  it.each(nested)('$key', async ({ key, iface }) => {
    const keys = await documentedKeys('node', iface)
    expect(keys.length).toBeGreaterThan(3)
    await make({ [key]: Object.fromEntries(keys.map((k) => [k, undefined])) })
    await settle()
    expect(warnings).toEqual([])
    const known = keys.find((k) => k.length > 5)!
    await make({ [key]: { [known.slice(0, -1)]: 1 } })
    await settle()
    expect(warnings).toEqual([
      `createNode: unknown option \`${key}.${known.slice(0, -1)}\` is ignored; did you mean \`${key}.${known}\`?`,
    ])
  })

  it("a key of the node's own given in them is ignored with a warning, never set over the node's", async () => {
    // registry.trust would have replaced the node's trust list in the registry (it was spread last);
    // registry.self, the node's own id there (a bad one failed the start)
    const node = await createNode({
      identity,
      trust: [],
      registry: { trust: () => true, self: 'not a node id' },
      transport: { identity: 'not an identity', maxStreams: 8 },
    } as unknown as NodeOptions)
    try {
      await settle()
      expect(warnings).toEqual([
        'createNode: unknown option `registry.trust` is ignored',
        'createNode: unknown option `registry.self` is ignored',
        'createNode: unknown option `transport.identity` is ignored',
      ])
      expect(node.stats.engine).toBeDefined()
    } finally {
      await node.stop()
    }
  })
})
