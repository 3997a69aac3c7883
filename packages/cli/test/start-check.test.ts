// `peer start --check` reads what a start reads: the static lists of every source (inline, file,
// environment variable) with the trust list, and the identity's key type. A list that cannot be
// read fails the check as it fails the start.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { shortId } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTempDir, removeTempDir, runPeer } from './helpers.js'

let dir: string
beforeAll(async () => {
  dir = await makeTempDir('check')
})
afterAll(() => removeTempDir(dir))

const peer = (id: string, port: number) => ({ id, addresses: [`127.0.0.1:${port}`] })

describe('peer start --check', () => {
  it('compares the trust list with the static file and variable, leaving this node out', async () => {
    const self = (await runPeer(['keygen', '--out', join(dir, 'self')])).stdout.trim()
    const [trusted, stranger, fromEnv, unlisted] = ['t', 's', 'e', 'u'].map((s) => testId(s)) as [
      string,
      string,
      string,
      string,
    ]
    const peersFile = join(dir, 'peers.json')
    // a list shared by the cluster names this node too: not a stranger
    await writeFile(
      peersFile,
      JSON.stringify({ version: 1, peers: [peer(self, 4001), peer(trusted, 4002), peer(stranger, 4003)] }),
    )
    const config = join(dir, 'static.json')
    await writeFile(
      config,
      JSON.stringify({
        identity: 'self',
        listen: '127.0.0.1:4000',
        trust: { peers: [trusted, fromEnv, unlisted] },
        discovery: [{ backend: 'static', file: 'peers.json', env: 'CHECK_PEERS' }],
      }),
    )
    const env = { CHECK_PEERS: JSON.stringify([peer(fromEnv, 4004)]) }
    const r = await runPeer(['start', '--config', config, '--check', '--json'], { env })
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).warnings).toEqual([
      `static lists 1 peer(s) not in the trust list, which are never dialed: ${shortId(stranger)}`,
      `1 trusted peer(s) are in no static list, so this node never dials them (they can still dial it): ${shortId(unlisted)}`,
    ])
    // without the variable, the peer it listed is unlisted too
    const without = await runPeer(['start', '--config', config, '--check', '--json'])
    expect(JSON.parse(without.stdout).warnings[1]).toMatch(/^2 trusted peer\(s\) are in no static list/)
    // with another kind of backend, a trusted peer may be found there: no such warning
    await writeFile(
      config,
      JSON.stringify({
        identity: 'self',
        listen: '127.0.0.1:4000',
        trust: { peers: [trusted, unlisted] },
        discovery: [{ backend: 'static', file: 'peers.json' }, { backend: 'mdns' }],
      }),
    )
    const mixed = await runPeer(['start', '--config', config, '--check', '--json'])
    expect(JSON.parse(mixed.stdout).warnings).toEqual([
      expect.stringMatching(/^mdns does not publish a node that announces only 127\.0\.0\.1:4000/),
      `static lists 1 peer(s) not in the trust list, which are never dialed: ${shortId(stranger)}`,
    ])
  })

  it('fails, naming the file, when a static list cannot be read, as the start would', async () => {
    await runPeer(['keygen', '--out', join(dir, 'bad')])
    const peersFile = join(dir, 'broken-peers.json')
    await writeFile(peersFile, '{"version":1,"peers":[')
    const config = join(dir, 'broken.json')
    await writeFile(
      config,
      JSON.stringify({
        identity: 'bad',
        listen: '127.0.0.1:4000',
        trust: { peers: [testId('x')] },
        discovery: [{ backend: 'static', file: 'broken-peers.json' }],
      }),
    )
    const r = await runPeer(['start', '--config', config, '--check'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`file ${peersFile}: not valid JSON`)
  })

  it('says what a P-256 identity gets: the matrixai engine, refused by quinn peers', async () => {
    await runPeer(['keygen', '--out', join(dir, 'p256'), '--key-type', 'p256'])
    const r = await runPeer([
      'start',
      '--identity',
      join(dir, 'p256'),
      '--trust',
      testId('y'),
      '--check',
      '--json',
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).warnings).toEqual([
      expect.stringMatching(
        /^the identity is P-256: this node runs on the matrixai QUIC engine, and peers on quinn/,
      ),
    ])
  })
})
