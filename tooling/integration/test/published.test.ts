// The packages as published, used the way a new user would: every package packed, installed with
// plain npm into a scratch project outside the workspace, each README's links checked against the
// files the tarball ships, and each example (shipped in the tarball and quoted verbatim in its
// README) run with plain `node`. Examples that need a service get it from @peer/testkit (etcd,
// dnsmasq on loopback, a network namespace for multicast) through the environment variables they
// document. Build + pack + install happen once, in beforeAll.
import { execFile } from 'node:child_process'
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { promisify } from 'node:util'
import { type DnsmasqServer, startDnsmasq } from '@peer/testkit/dnsmasq'
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { testId } from '@peer/testkit/ids'
import { createNetns } from '@peer/testkit/netns'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isAbsoluteUrl, linkTargets, quotedFiles } from '../src/markdown.js'
import {
  installPublished,
  type PublishedPackage,
  publishedPackages,
  type ScratchProject,
} from '../src/published.js'
import { killRunningExamples, runWithNode } from '../src/run-example.js'

const run = promisify(execFile)
const REPOSITORY = 'https://github.com/peer-dist/peer'

interface Services {
  etcd: EtcdCluster
  dnsmasq: DnsmasqServer
}

/** What each shipped example needs and prints. Every shipped example must be listed here. */
interface ExampleSpec {
  /** Environment variables (the ones the example documents), from the services the test started. */
  env?: (services: Services) => Record<string, string>
  /** Run inside a fresh network namespace (multicast). */
  netns?: boolean
  /** Lines the output must contain. */
  expect: RegExp[]
}

const NODE_ID = '[a-z2-7]{52}'
const EXAMPLES: Record<string, ExampleSpec> = {
  '@peer/cli/examples/validate-config.mjs': {
    expect: [
      /^ok: listen 127\.0\.0\.1:4001, identity \/etc\/peer\/identity$/m,
      /^bad: listen: expected a port/m,
    ],
  },
  '@peer/cli/examples/ping-trusted.mjs': {
    expect: [
      /^ping --trusted: 1 of 3 trusted peers are not reachable$/m,
      /^2 of 3 trusted peers reachable$/m,
      /^FAIL {2}[a-z2-7]{8}\.\.[a-z2-7]{4}: server identity mismatch: expected node <id>, but the server presented node <id>$/m,
      /^ok {4}node1@localhost [a-z2-7]{8}\.\.[a-z2-7]{4} at 127\.0\.0\.1:\d+: rtt N ms$/m,
      /^ok {4}node2@localhost [a-z2-7]{8}\.\.[a-z2-7]{4} at 127\.0\.0\.1:\d+: rtt N ms$/m,
    ],
  },
  '@peer/cli/examples/status.mjs': {
    expect: [
      /^node1@localhost: node2@localhost is connected, rtt \d+\.\d ms$/m,
      /^peers {5}1 up of 1 known$/m,
    ],
  },
  '@peer/discovery-core/examples/custom-backend.mjs': {
    expect: [/^discovered fpmansl7\w+ \(alice\) via polling$/m, /^invalid records dropped: 1$/m],
  },
  '@peer/discovery-dns/examples/watch-service.mjs': {
    env: ({ dnsmasq }) => ({
      PEER_DNS_RESOLVERS: dnsmasq.address,
      PEER_DNS_DOMAIN: dnsmasq.domain,
      PEER_DNS_WATCH_MS: '500',
    }),
    expect: [
      /^discovered app@app1 at 127\.0\.0\.1:4001$/m,
      /^watching _peer\._udp\.example\.test: 1 peer\(s\)$/m,
    ],
  },
  '@peer/discovery-etcd/examples/two-nodes.mjs': {
    env: ({ etcd }) => ({ ETCD_ENDPOINTS: etcd.endpoints.join(',') }),
    expect: [
      /^discovered alice@host1 at 127\.0\.0\.1:4000$/m,
      /^lookup alice@host1 -> fpmansl7\.\.\.$/m,
      /^lost alice@host1 \(\w+\)$/m,
    ],
  },
  '@peer/discovery-mdns/examples/two-nodes.mjs': {
    netns: true,
    expect: [/^discovered alice@demo at \S+:4000.* \{"role":"web"\}$/m, /^lost alice@demo \(withdrawn\)$/m],
  },
  '@peer/discovery-static/examples/two-nodes.mjs': {
    expect: [
      /^alice: discovered bob@localhost at 127\.0\.0\.1:4002$/m,
      /^bob: discovered alice@localhost at 127\.0\.0\.1:4001$/m,
      /^alice: lost bob@localhost$/m,
    ],
  },
  '@peer/identity/examples/identity.mjs': {
    expect: [
      new RegExp(`^created node ${NODE_ID} \\(ed25519\\)$`, 'm'),
      new RegExp(`^now trusting ${NODE_ID}$`, 'm'),
    ],
  },
  '@peer/node/examples/cluster.mjs': { expect: [/^hello world, from node2 to node1@localhost$/m] },
  '@peer/node/examples/metrics.mjs': {
    expect: [
      /^peers up: 1$/m,
      /^requests timed: 1$/m,
      /^discovered via static: 1$/m,
      /^messages sent > 0: true$/m,
    ],
  },
  '@peer/node/examples/dial-failures.mjs': {
    expect: [
      /^dial failed \(PinningError\): server identity mismatch: expected node <id>, but the server presented node <id>$/m,
      /^dial failed \(UntrustedPeerError\): server <id> does not trust this node$/m,
      /^gave up; the last dial failed: server <id> does not trust this node$/m,
    ],
  },
  '@peer/node/examples/handler-errors.mjs': {
    expect: [
      /^node2: the handler of orders failed on a message from node1@localhost: qty must be at least 1$/m,
      /^node1: peer node3 is unavailable: not connected: a discovered peer has this name \(node3@localhost, id <id>\) but is not in this node's trust list$/m,
      /^node1: payload cannot be encoded as MessagePack: payload is a Map: it would arrive as an object with string keys: send Object\.fromEntries\(map\) or \[\.\.\.map\]$/m,
    ],
  },
  '@peer/node/examples/on-demand.mjs': {
    expect: [
      /^node1 members: 1, connections: 0$/m,
      /^hello node1$/m,
      /^node1 connections: 1$/m,
      /^peer:down node2@localhost \(idle\); still a member: 1$/m,
      /^hello again$/m,
    ],
  },
  '@peer/node/examples/named-servers.mjs': {
    expect: [
      /^provider publishes: echo$/m,
      /^client finds echo: 1 provider, port \d+$/m,
      /^after close: provider publishes 0, client sees 0$/m,
    ],
  },
  '@peer/node/examples/services.mjs': { expect: [/^providers: 2$/m, /^failover ok$/m] },
  '@peer/node/examples/send-file.mjs': { expect: [/^sent 4194304 bytes; the receiver's sha256 matches$/m] },
  '@peer/registry/examples/two-peers.mjs': {
    expect: [/^alice sees bob: connected, 1 address\(es\), \d+ dial\(s\)$/m],
  },
  '@peer/transport-quic/examples/echo.mjs': {
    expect: [
      /^server hello: echo\/1 for [a-z2-7]{8}$/m,
      /^[a-z2-7]{8} answered: hello from [a-z2-7]{8} \(rtt \d+ ms\)$/m,
      /^datagrams: [1-9]\d* sent, [1-9]\d* received$/m,
    ],
  },
}

const packages = await publishedPackages()
let project: ScratchProject | undefined
let services: Services | undefined
let startedEtcd: EtcdCluster | undefined
let startedDnsmasq: DnsmasqServer | undefined
const timings: string[] = []

function installed(name: string): PublishedPackage {
  const pkg = project?.packages.find((p) => p.name === name)
  if (!pkg) throw new Error(`${name} is not installed (did beforeAll fail?)`)
  return pkg
}

/** The example files a package ships (examples/*.mjs inside the installed tarball). */
async function shippedExamples(pkg: PublishedPackage): Promise<string[]> {
  const files = await readdir(join(pkg.installedDir, 'examples')).catch(() => [])
  return files.filter((f) => f.endsWith('.mjs')).sort()
}

beforeAll(async () => {
  const started = performance.now()
  const [scratch, etcd, dnsmasq] = await Promise.allSettled([
    installPublished({ onStep: (line) => timings.push(line) }),
    startEtcd(),
    startDnsmasq({
      domain: 'example.test',
      zone: {
        srv: { '_peer._udp.example.test': [{ target: 'app1.example.test', port: 4001 }] },
        txt: { 'app1.example.test': [`id=${testId('published-example')}`, 'name=app@app1'] },
        hosts: { 'app1.example.test': ['127.0.0.1'] },
      },
    }),
  ])
  // keep whatever started, so afterAll stops it even when something else failed
  if (scratch.status === 'fulfilled') project = scratch.value
  if (etcd.status === 'fulfilled') startedEtcd = etcd.value
  if (dnsmasq.status === 'fulfilled') startedDnsmasq = dnsmasq.value
  if (startedEtcd && startedDnsmasq) services = { etcd: startedEtcd, dnsmasq: startedDnsmasq }
  timings.push(`beforeAll: ${Math.round(performance.now() - started)} ms`)
  for (const result of [scratch, etcd, dnsmasq]) if (result.status === 'rejected') throw result.reason
})

afterAll(async () => {
  killRunningExamples()
  await Promise.allSettled([project?.cleanup(), startedEtcd?.close(), startedDnsmasq?.stop()])
  console.log(`published packages: ${timings.join(', ')}`)
})

describe('the published packages', () => {
  it('are all installed, with no workspace: range left in a manifest', async () => {
    expect(project?.packages.map((p) => p.name)).toEqual(packages.map((p) => p.name))
    for (const { name } of packages) {
      const manifest = await readFile(join(installed(name).installedDir, 'package.json'), 'utf8')
      expect(manifest, name).not.toContain('workspace:')
    }
  })

  it.each(packages.map((p) => p.name))(
    '%s: package.json names the repository, homepage and bugs',
    async (name) => {
      const manifest = JSON.parse(await readFile(join(installed(name).installedDir, 'package.json'), 'utf8'))
      const directory = relative(
        installed(name).sourceDir.split(`${sep}packages${sep}`)[0]!,
        installed(name).sourceDir,
      )
      expect(manifest.repository).toEqual({ type: 'git', url: `git+${REPOSITORY}.git`, directory })
      expect(manifest.homepage).toBe(`${REPOSITORY}/tree/main/${directory}#readme`)
      expect(manifest.bugs).toEqual({ url: `${REPOSITORY}/issues` })
    },
  )

  it.each(packages.map((p) => p.name))(
    '%s: every README link is an absolute URL or a file the tarball ships',
    async (name) => {
      const dir = installed(name).installedDir
      const readme = await readFile(join(dir, 'README.md'), 'utf8')
      const broken: string[] = []
      for (const target of linkTargets(readme)) {
        if (isAbsoluteUrl(target) || target.startsWith('#')) continue
        const path = resolve(dir, decodeURIComponent(target.split('#')[0]!))
        const inside = path === dir || path.startsWith(`${dir}${sep}`)
        if (!inside || !(await stat(path).catch(() => undefined))) broken.push(target)
      }
      expect(broken, `${name}/README.md links to files the tarball does not ship`).toEqual([])
    },
  )

  it.each(packages.map((p) => p.name))(
    '%s: its README quotes each shipped example verbatim, and the example says how to run it',
    async (name) => {
      const pkg = installed(name)
      // quotes of .mjs files are runnable examples (the compliance kit's README quotes .ts files the
      // kit's own tests run, which are not shipped)
      const quoted = quotedFiles(await readFile(join(pkg.installedDir, 'README.md'), 'utf8')).filter((q) =>
        q.path.endsWith('.mjs'),
      )
      const examples = await shippedExamples(pkg)
      expect(
        quoted.map((q) => q.path).sort(),
        `${name}: README quotes (<!-- file: examples/x.mjs --> before a js block), in any order`,
      ).toEqual(examples.map((f) => `examples/${f}`).sort())
      for (const { path, lang, code } of quoted) {
        expect(lang, path).toBe('js')
        const file = await readFile(join(pkg.installedDir, path), 'utf8')
        expect(code, `${name}/README.md quotes ${path}`).toBe(file)
        expect(file, `${path} says how to run it`).toMatch(
          new RegExp(`^// Run: .*\\bnode ${path.replace('.', '\\.')}\\b`, 'm'),
        )
      }
    },
  )

  it('every shipped example has a spec here, and every spec an example in its tarball', async () => {
    const shipped: string[] = []
    for (const pkg of project?.packages ?? [])
      for (const file of await shippedExamples(pkg)) shipped.push(`${pkg.name}/examples/${file}`)
    expect(shipped.sort()).toEqual(Object.keys(EXAMPLES).sort())
  })

  it('@peer/node works where its optional peer dependency @opentelemetry/api is not installed', async () => {
    if (!project) throw new Error('the scratch project did not start')
    // a second project with only the node and what it needs at run time (the first has
    // @opentelemetry/api through @peer/cli)
    const dir = join(project.dir, '..', 'without-otel')
    await mkdir(dir)
    await writeFile(
      join(dir, 'package.json'),
      '{ "name": "without-otel", "private": true, "type": "module" }\n',
    )
    const needed = ['node', 'discovery-core', 'identity', 'transport-quic', 'registry', 'discovery-static']
    const tarballs = needed.map((n) => installed(`@peer/${n}`).tarball)
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], {
      cwd: dir,
      env: { ...process.env, npm_config_update_notifier: 'false' },
      maxBuffer: 64 * 1024 * 1024,
    })
    expect(
      await stat(join(dir, 'node_modules', '@opentelemetry', 'api')).catch(() => undefined),
    ).toBeUndefined()
    // createNode's default looks for the global provider of @opentelemetry/api: absent, metrics are off
    const copy = join(dir, 'cluster.mjs')
    await copyFile(join(installed('@peer/node').installedDir, 'examples', 'cluster.mjs'), copy)
    const { stdout } = await runWithNode(copy, { cwd: dir })
    expect(stdout).toMatch(/^hello world, from node2 to node1@localhost$/m)
  }, 300_000)

  describe.each(Object.entries(EXAMPLES))('%s', (key, spec) => {
    it('runs with plain node from the installed package, prints what it promises and exits by itself', async () => {
      const [, name, file] = /^(@peer\/[^/]+)\/examples\/(.+)$/.exec(key)!
      const pkg = installed(name!)
      if (!services || !project) throw new Error('services or the scratch project did not start')
      // the user's own copy of the example, in their project: only the installed packages resolve
      const copy = join(project.dir, `${name!.slice('@peer/'.length)}-${file}`)
      await copyFile(join(pkg.installedDir, 'examples', file!), copy)
      const ns = spec.netns ? await createNetns({ label: 'published' }) : undefined
      try {
        const { stdout, elapsedMs } = await runWithNode(copy, {
          cwd: project.dir,
          env: spec.env?.(services) ?? {},
          netns: ns?.name,
        })
        timings.push(`${key}: ${elapsedMs} ms`)
        for (const line of spec.expect) expect(stdout, key).toMatch(line)
      } finally {
        await ns?.delete()
      }
    }, 180_000) // longer than the example's own 120 s limit, so that limit reports first
  })
})
