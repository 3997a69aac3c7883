// `peer` as a user runs it (spawned processes): help, keygen, id, configuration errors, discover;
// and the command functions in this process, where the environment is the embedder's `CliIo.env`.
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { type AddressInfo, createServer } from 'node:net'
import { join } from 'node:path'
import { shortId } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { discover, start } from '../src/index.js'
import { makeTempDir, PeerProcess, removeTempDir, runPeer } from './helpers.js'
import { CaptureIo } from './support/capture-io.js'

let dir: string
beforeAll(async () => {
  dir = await makeTempDir('basics')
})
afterAll(() => removeTempDir(dir))

const COMMANDS = ['keygen', 'id', 'start', 'status', 'services', 'discover', 'ping', 'demo']

describe.concurrent('help and usage', () => {
  it('peer --help lists every command', async () => {
    const r = await runPeer(['--help'])
    expect(r.code).toBe(0)
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'))
  })

  for (const c of COMMANDS) {
    it(`peer ${c} --help`, async () => {
      const r = await runPeer([c, '--help'])
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(`Usage: peer ${c} [options]`)
      expect(r.stdout).toContain('Examples:')
      expect(r.stdout).toContain('--json')
    })
  }

  it('peer --version', async () => {
    const r = await runPeer(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })

  it('an unknown command or option exits 2 with a hint', async () => {
    const a = await runPeer(['bogus'])
    expect(a.code).toBe(2)
    expect(a.stderr).toContain("unknown command 'bogus'")
    const b = await runPeer(['keygen', '--key-type', 'rsa'])
    expect(b.code).toBe(2)
    expect(b.stderr).toContain('Allowed choices are ed25519, p256')
  })
})

describe('keygen and id', () => {
  it('keygen writes a key (0600) and a certificate and prints the id; id prints the same id', async () => {
    const out = join(dir, 'n1')
    const k = await runPeer(['keygen', '--out', out])
    expect(k.code, k.stderr).toBe(0)
    const id = k.stdout.trim()
    expect(id).toMatch(/^[a-z2-7]{52}$/)
    expect((await stat(join(out, 'node.key'))).mode & 0o777).toBe(0o600)
    expect(await readFile(join(out, 'node.crt'), 'utf8')).toContain('BEGIN CERTIFICATE')

    const i = await runPeer(['id', '--identity', out])
    expect(i.code).toBe(0)
    expect(i.stdout.trim()).toBe(id)
    // as docs/getting-started.md writes it: the directory as an argument
    const positional = await runPeer(['id', out])
    expect(positional.code, positional.stderr).toBe(0)
    expect(positional.stdout.trim()).toBe(id)
    const twice = await runPeer(['id', out, '--identity', join(dir, 'other')])
    expect(twice.code).toBe(2)
    expect(twice.stderr).toContain('give the identity directory once')
    const c = await runPeer(['id', '--cert', join(out, 'node.crt'), '--json'])
    expect(JSON.parse(c.stdout)).toMatchObject({ id })
  })

  it('keygen refuses to replace an identity unless --force', async () => {
    const out = join(dir, 'n2')
    const first = await runPeer(['keygen', '--out', out, '--json'])
    const { id } = JSON.parse(first.stdout) as { id: string }
    const again = await runPeer(['keygen', '--out', out])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`already exists (node id ${id}); use --force`)
    const forced = await runPeer(['keygen', '--out', out, '--force', '--key-type', 'p256', '--json'])
    expect(forced.code).toBe(0)
    const json = JSON.parse(forced.stdout) as { id: string; keyType: string }
    expect(json.keyType).toBe('p256')
    expect(json.id).not.toBe(id)
  })

  it('keygen --trust-file adds the id to a trust list file', async () => {
    const trust = join(dir, 'trust.json')
    const a = JSON.parse(
      (await runPeer(['keygen', '-o', join(dir, 't1'), '--trust-file', trust, '--label', 't1', '--json']))
        .stdout,
    )
    const b = JSON.parse(
      (await runPeer(['keygen', '-o', join(dir, 't2'), '--trust-file', trust, '--json'])).stdout,
    )
    const list = JSON.parse(await readFile(trust, 'utf8')) as {
      version: number
      peers: Array<{ id: string; label?: string }>
    }
    expect(list.version).toBe(1)
    expect(list.peers.map((p) => p.id)).toEqual([a.id, b.id])
    expect(list.peers[0]!.label).toBe('t1')
  })

  it('id: a key file readable by others is refused with the chmod fix', async () => {
    const out = join(dir, 'n3')
    await runPeer(['keygen', '--out', out])
    await chmod(join(out, 'node.key'), 0o644)
    const r = await runPeer(['id', '--identity', out])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`chmod 600 ${join(out, 'node.key')}`)
  })

  it('id: a missing identity, a corrupt key, a file that is not a certificate', async () => {
    const missing = await runPeer(['id', '--identity', join(dir, 'none')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/node\.key: private key file does not exist/)

    const out = join(dir, 'n4')
    await runPeer(['keygen', '--out', out])
    await writeFile(
      join(out, 'node.key'),
      '-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n',
      { mode: 0o600 },
    )
    const corrupt = await runPeer(['id', '--identity', out, '--json'])
    expect(corrupt.code).toBe(1)
    const error = JSON.parse(corrupt.stderr) as { error: { name: string; message: string } }
    expect(error.error.name).toBe('KeyFileError')

    await writeFile(join(dir, 'not-a-cert.pem'), 'hello')
    const notCert = await runPeer(['id', '--cert', join(dir, 'not-a-cert.pem')])
    expect(notCert.code).toBe(1)
    expect(notCert.stderr).toContain('not a certificate')
  })
})

describe('discover (static)', () => {
  it('prints discovered and lost live as the peer list file changes', async () => {
    const ids = [1, 2].map((n) => join(dir, `d${n}`))
    const peerIds: string[] = []
    for (const out of ids) peerIds.push((await runPeer(['keygen', '-o', out])).stdout.trim())
    const file = join(dir, 'peers.json')
    const list = (n: number) =>
      JSON.stringify({
        version: 1,
        peers: peerIds
          .slice(0, n)
          .map((id, i) => ({ id, name: `n${i}@localhost`, addresses: [`127.0.0.1:${4000 + i}`] })),
      })
    await writeFile(file, list(2))
    const p = new PeerProcess(['discover', '--file', file, '--json'], { env: { PEER_DEBUG: 'peer:*' } })
    try {
      await p.waitFor((x) => x.events.some((e) => e.event === 'ready'), 15_000, 'ready')
      const discovered = p.events.filter((e) => e.event === 'discovered')
      expect(discovered.map((e) => e.id).sort()).toEqual([...peerIds].sort())
      expect(discovered.find((e) => e.id === peerIds[0])).toMatchObject({
        name: 'n0@localhost',
        addresses: ['127.0.0.1:4000'],
        source: 'static',
      })
      await writeFile(file, list(1))
      const lost = await p.waitFor((x) => x.events.find((e) => e.event === 'lost'), 10_000, 'lost')
      expect(lost).toMatchObject({ id: peerIds[1], reason: 'removed', source: 'static' })
      // an invalid edit keeps the last good list and is reported
      await writeFile(file, '{"version":1,"peers":[{"id":"nope","addresses":[]}]}')
      const error = await p.waitFor((x) => x.events.find((e) => e.event === 'error'), 10_000, 'error')
      expect(String(error.message)).toContain('peers[0].id')
      // PEER_DEBUG=peer:* shows the backend's debug log (the drop) on stderr, no --log-level needed
      await p.waitFor(
        (x) => /DEBUG +peer:discovery:static dropped invalid input/.test(x.stderr),
        10_000,
        'debug line',
      )
    } finally {
      const r = await p.stop('SIGINT')
      expect(r.code).toBe(0)
    }
    // on exit: the backend's drop counters
    expect(p.events.filter((e) => e.event === 'stats')).toEqual([
      expect.objectContaining({ source: 'static', invalidRecords: 1, overflowDrops: 0, errors: 1 }),
    ])
  })

  it('text output and --duration: ends by itself', async () => {
    const id = (await runPeer(['keygen', '-o', join(dir, 'd3')])).stdout.trim()
    const r = await runPeer(['discover', '--peer', `${id}@127.0.0.1:4100,[::1]:4100`, '--duration', '0.5'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('stats      [static] dropped 0 invalid, 0 over maxPeers; 0 errors')
    expect(r.stdout).toContain(`discovered ${id} at 127.0.0.1:4100, [::1]:4100 [static]`)
  })

  it("a static backend's env variable is read from the CliIo's env, not process.env", async () => {
    const name = 'PEER_CLI_TEST_IO_ONLY_PEERS'
    expect(process.env[name]).toBeUndefined()
    const id = (await runPeer(['keygen', '-o', join(dir, 'd4')])).stdout.trim()
    const list = JSON.stringify({ version: 1, peers: [{ id, addresses: ['127.0.0.1:4200'] }] })
    // discover --env
    const io = new CaptureIo({ [name]: list })
    await discover({ env: name, durationMs: 100, json: true }, io)
    expect(io.event('discovered')).toMatchObject({ id, addresses: ['127.0.0.1:4200'], source: 'static' })
    // start with discovery[].env in its configuration: a list that is not JSON fails the start,
    // naming the variable (read from process.env, the variable is unset: no peers, no error)
    const config = join(dir, 'env-peers.json')
    await writeFile(
      config,
      JSON.stringify({
        identity: join(dir, 'd4'),
        listen: '127.0.0.1:0',
        discovery: [{ backend: 'static', env: name }],
      }),
    )
    const bad = new CaptureIo({ [name]: 'not a peer list' })
    await expect(start({ config, control: false, durationMs: 100 }, bad)).rejects.toThrow(
      `environment variable ${name}`,
    )
  })

  it("start reads PEER_DEBUG from the CliIo's env, not process.env", async () => {
    expect(process.env.PEER_DEBUG).toBeUndefined()
    const config = join(dir, 'debug-from-io.json')
    await writeFile(
      config,
      JSON.stringify({
        identity: join(dir, 'd5'),
        createIdentity: true,
        listen: '127.0.0.1:0',
        log: { level: 'error' },
      }),
    )
    const io = new CaptureIo({ PEER_DEBUG: 'peer:*' })
    await start({ config, control: false, durationMs: 100 }, io)
    // at level error the node's info lines would not print; PEER_DEBUG=peer:* adds every level
    expect(io.err).toMatch(/INFO +peer:node node started/)
  })

  it('bad flags exit 2 naming the flag', async () => {
    const a = await runPeer(['discover', '--peer', 'nope@127.0.0.1:1'])
    expect(a.code).toBe(2)
    expect(a.stderr).toContain('--peer "nope@127.0.0.1:1": "nope" is not a node id')
    const b = await runPeer(['discover', '--backend', 'etcd', '--endpoint', 'localhost:2379'])
    expect(b.code).toBe(2)
    expect(b.stderr).toContain('command line: --endpoint[0]: expected an etcd URL')
    const c = await runPeer(['discover', '--backend', 'dns', '--file', 'x'])
    expect(c.code).toBe(2)
    expect(c.stderr).toContain('--file does not apply to --backend dns')
    const d = await runPeer(['discover', '--file', join(dir, 'missing.json')])
    expect(d.code).toBe(1)
    expect(d.stderr).toContain('static: cannot start')
  })

  it('--config with a bad field exits 2 and names file and field', async () => {
    const file = join(dir, 'bad-config.json')
    await writeFile(
      file,
      JSON.stringify({ discovery: [{ backend: 'static', peers: [{ id: 'x', addresses: [] }] }] }),
    )
    const r = await runPeer(['discover', '--config', file])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`${file}: discovery[0].peers[0].id: expected a node id`)
  })
})

describe('start: configuration and startup errors', () => {
  it('a bad field in the config file exits 2 naming file and field', async () => {
    const file = join(dir, 'start-bad.json')
    await writeFile(file, JSON.stringify({ listen: '127.0.0.1:1', trust: { peers: ['zzz'] } }))
    const r = await runPeer(['start', '--config', file])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`${file}: trust.peers[0]: expected a node id`)
  })

  it('a bad flag exits 2 naming the flag', async () => {
    const r = await runPeer(['start', '--listen', 'localhost', '--json'])
    expect(r.code).toBe(2)
    const { error } = JSON.parse(r.stderr) as { error: { name: string; field: string; message: string } }
    expect(error).toMatchObject({ name: 'ConfigError', field: '--listen' })
    expect(error.message).toContain('command line: --listen: expected "host:port"')
  })

  it('a malformed trust list or peer list file exits 1 naming the file and the entry', async () => {
    const idDir = join(dir, 'lists')
    await runPeer(['keygen', '--out', idDir])
    const trust = join(dir, 'bad-trust.json')
    await writeFile(trust, JSON.stringify({ version: 1, peers: [{ id: 'short' }] }))
    const a = await runPeer(['start', '--identity', idDir, '--trust-file', trust])
    expect(a.code).toBe(1)
    expect(a.stderr).toContain(`trust list ${trust}: peers[0].id:`)
    const peers = join(dir, 'bad-peers.json')
    await writeFile(peers, '{"version":1,"peers":[{"id":"x","addresses":[]}]')
    const b = await runPeer(['start', '--identity', idDir, '--peers-file', peers])
    expect(b.code).toBe(1)
    expect(b.stderr).toContain(`file ${peers}: not valid JSON`)
  })

  it('--check validates config, identity and trust list without starting a node', async () => {
    const idDir = join(dir, 'checked')
    const id = (await runPeer(['keygen', '--out', idDir])).stdout.trim()
    const file = join(dir, 'check.json')
    await writeFile(
      file,
      JSON.stringify({
        identity: 'checked',
        listen: '127.0.0.1:4999',
        trust: { peers: [id] },
        discovery: [{ backend: 'static', peers: [] }],
      }),
    )
    const ok = await runPeer(['start', '--config', file, '--check', '--json'])
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({
      ok: true,
      id,
      listen: '127.0.0.1:4999',
      trusted: 1,
      backends: ['static'],
      warnings: [],
    })
    const text = await runPeer(['start', '--config', file, '--check'])
    expect(text.stdout).toContain(`ok: ${file}`)
    expect(text.stdout).not.toContain('warn')
    const bad = await runPeer(['start', '--config', file, '--check', '--identity', join(dir, 'nobody')])
    expect(bad.code).toBe(1)
  })

  it('--check lists what a valid configuration still gets wrong, and exits 0', async () => {
    const file = join(dir, 'suspicious.json')
    const stranger = testId('s')
    // only parsed: --check sends nothing to these endpoints (192.0.2.0/24 is for documentation)
    const config = (trust: string[], listen: string) => ({
      identity: 'checked',
      listen,
      trust: { peers: trust },
      discovery: [
        { backend: 'etcd', endpoints: ['http://127.0.0.1:2379', 'http://192.0.2.7:2379'] },
        { backend: 'mdns' },
        { backend: 'static', peers: [{ id: stranger, addresses: ['127.0.0.1:4998'] }] },
      ],
    })
    await writeFile(file, JSON.stringify(config([], '127.0.0.1:4999')))
    const empty = await runPeer(['start', '--config', file, '--check', '--json'])
    expect(empty.code, empty.stderr).toBe(0)
    expect(JSON.parse(empty.stdout).warnings).toEqual([
      'the trust list is empty: this node dials and accepts nobody (add ids with --trust, a trust file, or `peer keygen --trust-file`)',
      'etcd at http://192.0.2.7:2379 may be read by other hosts, but this node announces only 127.0.0.1:4999: they would dial their own loopback (listen on 0.0.0.0, or --advertise an address of this host)',
      "mdns does not publish a node that announces only 127.0.0.1:4999 on other interfaces, so no other host finds it (listen on 0.0.0.0, or on an interface's address)",
    ])
    // a trust list without the listed peer, listening on every interface: only that is left
    const checkedId = (await runPeer(['id', join(dir, 'checked')])).stdout.trim()
    await writeFile(file, JSON.stringify(config([checkedId], '0.0.0.0:4999')))
    const text = await runPeer(['start', '--config', file, '--check'])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout.split('\n').filter((l) => l.includes('warn'))).toEqual([
      `  warn      static lists 1 peer(s) not in the trust list, which are never dialed: ${shortId(stranger)}`,
    ])
  })

  it('a missing identity exits 1 and says which file', async () => {
    const r = await runPeer(['start', '--identity', join(dir, 'nobody')])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${join(dir, 'nobody', 'node.key')}: private key file does not exist`)
  })

  it('--create-identity makes the identity; --duration stops it; a busy port is reported', async () => {
    const idDir = join(dir, 'fresh')
    const p = new PeerProcess([
      'start',
      '--identity',
      idDir,
      '--create-identity',
      '--listen',
      '127.0.0.1:0',
      '--json',
    ])
    try {
      const started = await p.waitFor((x) => x.events.find((e) => e.event === 'started'), 30_000, 'started')
      expect(started).toMatchObject({ identityCreated: true, trusted: 0, backends: [] })
      const id = (await runPeer(['id', '--identity', idDir])).stdout.trim()
      expect(started.id).toBe(id)
      // (--no-control: with the running node's control socket it would stop before the port)
      const busy = await runPeer([
        ...['start', '--identity', idDir, '--listen', String(started.address), '--no-control'],
      ])
      expect(busy.code).toBe(1)
      expect(busy.stderr).toContain(`UDP port ${String(started.port)} on 127.0.0.1 is already in use`)
    } finally {
      await p.stop('SIGTERM')
    }
    const timed = await runPeer([
      'start',
      '--identity',
      idDir,
      '--listen',
      '127.0.0.1:0',
      '--duration',
      '0.5',
      '--json',
    ])
    expect(timed.code, timed.stderr).toBe(0)
    const last = JSON.parse(timed.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>
    expect(last).toMatchObject({ event: 'stopped', reason: 'duration elapsed' })
  })

  it('a discovered peer that is not trusted is marked "not trusted: not dialed" (text)', async () => {
    const idDir = join(dir, 'untrusting')
    const other = (await runPeer(['keygen', '-o', join(dir, 'listed')])).stdout.trim()
    const trustedOne = (await runPeer(['keygen', '-o', join(dir, 'listed-trusted')])).stdout.trim()
    const r = await runPeer([
      'start',
      ...['--identity', idDir, '--create-identity', '--listen', '127.0.0.1:0', '--no-control'],
      ...['--peer', `${other}@127.0.0.1:9`, '--peer', `${trustedOne}@127.0.0.1:9`, '--trust', trustedOne],
      ...['--duration', '0.5'],
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`${other} at 127.0.0.1:9 (not trusted: not dialed) [static]`)
    expect(r.stdout).toContain(`${trustedOne} at 127.0.0.1:9 [static]`)
  })

  it('--duration counts from the started event: a start slower than the duration still runs', async () => {
    // an "etcd" that accepts connections and never answers: the node's start waits for the
    // backend's first list and lease grant (requestTimeoutMs 1 s, then 2 s), far above the duration
    const silent = createServer((socket) => socket.resume())
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as AddressInfo).port
    try {
      const config = join(dir, 'slow-start.json')
      await writeFile(
        config,
        JSON.stringify({
          discovery: [{ backend: 'etcd', endpoints: [`http://127.0.0.1:${port}`], requestTimeoutMs: 1000 }],
        }),
      )
      const args = [
        'start',
        '--identity',
        join(dir, 'slow'),
        '--create-identity',
        '--config',
        config,
        '--listen',
        '127.0.0.1:0',
      ]
      const r = await runPeer([...args, '--duration', '0.5', '--json'])
      expect(r.code, r.stderr).toBe(0)
      const events = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { event: string; reason?: string })
      expect(events[0]?.event).toBe('started')
      expect(events.at(-1)).toMatchObject({ event: 'stopped', reason: 'duration elapsed' })
    } finally {
      silent.close()
    }
  })
})
