// Issue 12 item 1, on the real CLI process: with the resolver unroutable, `peer discover` and
// `peer start` used to die of `RangeError [ERR_SOCKET_BAD_PORT]` (a `send` on a UDP socket whose
// `connect` had failed). They must report a discovery error, retry, and stay alive. The route
// fails only inside a network namespace this test creates: `lo` down and without addresses, the
// resolver pointed at 127.0.0.1 and [::1].
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createNetns, type Netns } from '@peer/testkit/netns'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTempDir, PeerProcess, removeTempDir } from './helpers.js'

const errorsOf = (p: PeerProcess) => p.events.filter((e) => e.event === 'error' && e.source === 'dns')

/** Waits for three DNS errors (the first poll and two retries); the process must still be alive. */
async function threeErrorsAndAlive(p: PeerProcess) {
  // the first poll fails at once; retries follow after 1, 2, 4 s
  const errors = await p.waitFor(
    (x) => (errorsOf(x).length >= 3 ? errorsOf(x) : undefined),
    60_000,
    'three dns errors',
  )
  expect(String(errors.at(-1)!.message)).toMatch(/ENETUNREACH/)
  expect(p.child.exitCode).toBeNull()
  expect(p.stderr).not.toMatch(/ERR_SOCKET_BAD_PORT|uncaught/i)
  return errors
}

describe('an unroutable DNS resolver', () => {
  let ns: Netns
  let dir: string
  beforeAll(async () => {
    dir = await makeTempDir('dns-crash')
    ns = await createNetns({ label: 'cli-dns-crash', loopbackMulticast: false })
    await ns.ip(['link', 'set', 'lo', 'down'])
    await ns.ip(['addr', 'flush', 'dev', 'lo'])
  })
  afterAll(async () => {
    await ns?.delete()
    await removeTempDir(dir)
  })

  it('peer discover reports the error, retries, and stays alive', async () => {
    const watcher = new PeerProcess(
      ['discover', '--backend', 'dns', '--resolver', '127.0.0.1:53', '--resolver', '[::1]:53'].concat([
        '--domain',
        'peer.test',
        '--json',
      ]),
      { netns: ns.name },
    )
    try {
      const errors = await threeErrorsAndAlive(watcher)
      expect(errors[0]).toMatchObject({ name: 'DnsQueryFailedError' })
      expect(String(errors[0]!.message)).toMatch(/EADDRNOTAVAIL/)
      expect(watcher.events.some((e) => e.event === 'ready')).toBe(true)
    } finally {
      const result = await watcher.stop('SIGINT')
      expect(result.code).toBe(0)
    }
  }, 90_000)

  it('peer start with a DNS backend reports the error, retries, and stays alive', async () => {
    const config = join(dir, 'node.json')
    await writeFile(
      config,
      JSON.stringify({
        identity: join(dir, 'node-identity'),
        createIdentity: true,
        name: 'dns@localhost',
        listen: '0.0.0.0:0',
        discovery: [{ backend: 'dns', resolvers: ['127.0.0.1:53', '[::1]:53'], domain: 'peer.test' }],
      }),
    )
    const node = new PeerProcess(['start', '--config', config, '--json'], { netns: ns.name })
    try {
      await node.waitFor((p) => p.events.find((e) => e.event === 'started'), 60_000, 'node started')
      await threeErrorsAndAlive(node)
    } finally {
      const result = await node.stop('SIGTERM')
      expect(result.code).toBe(0)
    }
  }, 90_000)
})
