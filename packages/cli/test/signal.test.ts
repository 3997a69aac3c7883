// Every async command function takes `{ signal }` (issue 16, item 7): aborting it stops the command
// the way Ctrl-C does (real nodes on 127.0.0.1, in this process), a signal already aborted at the
// call rejects with an AbortError before anything happens, and no listener stays on the signal.

import { getEventListeners } from 'node:events'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { AbortError } from '@peer/discovery-core'
import { generateIdentity, saveIdentity, TrustList } from '@peer/identity'
import { waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CliError,
  DemoCluster,
  demo,
  discover,
  keygen,
  parseConfig,
  ping,
  printId,
  runCli,
  services,
  start,
  startConfiguredNode,
  status,
} from '../src/index.js'
import { udpPortInUse } from '../src/node-setup.js'
import { cliRoot, makeTempDir, peerCommand, removeTempDir } from './helpers.js'
import { CaptureIo } from './support/capture-io.js'
import { freeUdpPort } from './support/cluster.js'

let dir: string
let trustFile: string
const ids: Record<'a' | 'b' | 'p', string> = { a: '', b: '', p: '' }
// node b runs for the whole file: the target of ping, discover and status
const b = { controller: new AbortController(), io: new CaptureIo(), run: Promise.resolve(), port: 0 }
let baseline: { sigint: number; sigterm: number }

/** The SIGINT/SIGTERM handlers of the commands still running: back to `baseline` once they end. */
const handlers = () => ({
  sigint: process.listenerCount('SIGINT'),
  sigterm: process.listenerCount('SIGTERM'),
})
const abortListeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length

beforeAll(async () => {
  baseline = handlers()
  dir = await makeTempDir('signal')
  const trust = new TrustList()
  for (const name of ['a', 'b', 'p'] as const) {
    const identity = await generateIdentity()
    await saveIdentity(identity, join(dir, name))
    trust.add(identity.id, { label: name })
    ids[name] = identity.id
  }
  trustFile = join(dir, 'trust.json')
  await trust.save(trustFile)
  b.run = start(
    {
      identity: join(dir, 'b'),
      name: 'b@localhost',
      listen: '127.0.0.1:0',
      trustFile,
      control: join(dir, 'b.sock'),
      json: true,
      signal: b.controller.signal,
    },
    b.io,
  )
  const started = await b.io.waitFor(() => b.io.event('started'), 'b started', b.run)
  b.port = Number(started.port)
})

afterAll(async () => {
  b.controller.abort()
  await b.run
  expect(handlers()).toEqual(baseline)
  await removeTempDir(dir)
})

const peerB = () => `${ids.b}@127.0.0.1:${b.port}`

describe('aborting stops a running command as Ctrl-C does', () => {
  it('start: the node stops (its peer sees peer:down), `stopped` is printed, the call resolves', async () => {
    const running = handlers()
    const controller = new AbortController()
    const io = new CaptureIo()
    const run = start(
      {
        identity: join(dir, 'a'),
        name: 'a@localhost',
        listen: '127.0.0.1:0',
        trustFile,
        peer: [peerB()],
        control: false,
        json: true,
        signal: controller.signal,
      },
      io,
    )
    await io.waitFor(() => io.event('peer:up', (e) => e.id === ids.b), 'a: peer:up b', run)
    await b.io.waitFor(() => b.io.event('peer:up', (e) => e.id === ids.a), 'b: peer:up a', run)
    expect(abortListeners(controller.signal)).toBe(1)
    expect(handlers().sigint).toBe(running.sigint + 1)
    const mark = b.io.events.length

    controller.abort()
    await run
    expect(io.event('stopped')).toMatchObject({ id: ids.a, reason: 'This operation was aborted' })
    const down = await b.io.waitFor(
      () => b.io.events.slice(mark).find((e) => e.event === 'peer:down' && e.id === ids.a),
      'b: peer:down a',
    )
    expect(down.reason).toBe('shutdown')
    expect(abortListeners(controller.signal)).toBe(0)
    expect(handlers()).toEqual(running)
  })

  it('ping: stops between pings, prints the summary of the pings so far and resolves', async () => {
    const controller = new AbortController()
    const io = new CaptureIo()
    const run = ping(
      ids.b,
      {
        identity: join(dir, 'p'),
        trustFile,
        peer: [peerB()],
        count: 1000,
        intervalMs: 600_000, // the abort ends the pause
        json: true,
        signal: controller.signal,
      },
      io,
    )
    await io.waitFor(() => io.event('reply'), 'the first reply', run)
    controller.abort()
    await run
    expect(io.event('summary')).toMatchObject({ id: ids.b, sent: 1, received: 1 })
    expect(abortListeners(controller.signal)).toBe(0)
  })

  it('ping: aborted while it connects, it rejects with "interrupted" (as Ctrl-C)', async () => {
    const controller = new AbortController()
    const io = new CaptureIo()
    // a (trusted) is not running: ping waits for it until the abort
    const run = ping(
      ids.a,
      {
        identity: join(dir, 'p'),
        trustFile,
        connectTimeoutMs: 600_000,
        json: true,
        signal: controller.signal,
      },
      io,
    )
    const outcome = run.then(
      () => undefined,
      (error: unknown) => error,
    )
    // the command holds a listener on the signal from the moment it runs
    await waitFor(() => abortListeners(controller.signal) === 1, { timeoutMs: 60_000, what: 'ping running' })
    controller.abort()
    const error = await outcome
    expect(error).toBeInstanceOf(CliError)
    expect((error as Error).message).toBe('interrupted')
    expect(abortListeners(controller.signal)).toBe(0)
  })

  it('discover: the backends stop, the stats lines are printed, the call resolves', async () => {
    const controller = new AbortController()
    const io = new CaptureIo()
    const run = discover({ peer: [peerB()], json: true, signal: controller.signal }, io)
    await io.waitFor(() => io.event('ready'), 'ready', run)
    expect(io.event('discovered')).toMatchObject({ id: ids.b })
    controller.abort()
    await run
    expect(io.event('stats'), io.out).toMatchObject({ source: 'static', invalidRecords: 0 })
    expect(abortListeners(controller.signal)).toBe(0)
  })

  it('status --watch: the watch ends and the call resolves', async () => {
    const controller = new AbortController()
    const io = new CaptureIo()
    const run = status(
      {
        control: join(dir, 'b.sock'),
        watch: true,
        intervalMs: 600_000, // the abort ends the wait
        json: true,
        signal: controller.signal,
      },
      io,
    )
    const first = await io.waitFor(() => io.event('status'), 'a status line', run)
    expect((first.node as { id: string }).id).toBe(ids.b)
    controller.abort()
    await run
    expect(io.events.filter((e) => e.event === 'status')).toHaveLength(1)
    expect(abortListeners(controller.signal)).toBe(0)
  })

  it('runCli: `peer start` stops and the exit status is 0', async () => {
    const controller = new AbortController()
    const io = new CaptureIo()
    const argv = ['node', 'peer', 'start', '--identity', join(dir, 'a'), '--listen', '127.0.0.1:0']
    const run = runCli([...argv, '--trust-file', trustFile, '--no-control', '--json'], io, {
      signal: controller.signal,
    })
    await io.waitFor(() => io.event('started'), 'started', run)
    controller.abort()
    expect(await run).toBe(0)
    expect(io.event('stopped')).toMatchObject({ id: ids.a })
    expect(abortListeners(controller.signal)).toBe(0)
  })

  it('demo: every node stops, the temp dir goes, `done` is printed and the call resolves', async () => {
    const controller = new AbortController()
    const io = new CaptureIo()
    const [file, args] = peerCommand([])
    const run = demo(
      { nodes: 2, durationMs: 600_000, json: true, command: { file, args }, signal: controller.signal },
      io,
    )
    await io.waitFor(
      () => io.event('step', (e) => String(e.text).startsWith('cluster formed')),
      'the cluster to form',
      run,
    )
    controller.abort()
    await run
    expect(io.event('step', (e) => e.text === 'interrupted: stopping')).toBeDefined()
    expect(io.event('done')).toMatchObject({ ok: true, clean: true })
    const pids = io.events.filter((e) => e.event === 'node' && typeof e.pid === 'number').map((e) => e.pid)
    expect(pids.length).toBe(2)
    const dirOf = io.event('step', (e) => typeof e.dir === 'string')?.dir as string
    expect(existsSync(dirOf)).toBe(false)
    expect(abortListeners(controller.signal)).toBe(0)
  }, 120_000)
})

describe('a command that ends by itself leaves no listener on the signal', () => {
  it('ping (its count), discover and start (durationMs), status and services (one read)', async () => {
    const signal = new AbortController().signal
    const io = new CaptureIo()
    await ping(
      ids.b,
      { identity: join(dir, 'p'), trustFile, peer: [peerB()], count: 1, json: true, signal },
      io,
    )
    expect(io.event('summary')).toMatchObject({ sent: 1, received: 1 })
    expect(abortListeners(signal)).toBe(0)
    await discover({ peer: [peerB()], durationMs: 100, json: true, signal }, io)
    expect(abortListeners(signal)).toBe(0)
    await start(
      { identity: join(dir, 'a'), listen: '127.0.0.1:0', trustFile, control: false, durationMs: 100, signal },
      io,
    )
    expect(abortListeners(signal)).toBe(0)
    await status({ control: join(dir, 'b.sock'), signal }, io)
    await services(undefined, { control: join(dir, 'b.sock'), signal }, io)
    expect(abortListeners(signal)).toBe(0)
    expect(handlers().sigint).toBe(baseline.sigint + 1) // node b's only
  })
})

/** A control socket that accepts connections and never answers. */
async function silentControl(path: string): Promise<{ server: Server; connected: Promise<void> }> {
  const sockets: Socket[] = []
  let onConnection!: () => void
  const connected = new Promise<void>((resolve) => {
    onConnection = resolve
  })
  const server = createServer((socket) => {
    sockets.push(socket)
    onConnection()
  })
  server.on('close', () => {
    for (const s of sockets) s.destroy()
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  return { server, connected }
}

describe('short commands reject with AbortError when aborted', () => {
  it('services and status: a read the node never answers rejects when the signal aborts', async () => {
    for (const [name, command] of [
      [
        'services',
        (signal: AbortSignal, control: string) => services(undefined, { control, signal }, new CaptureIo()),
      ],
      ['status', (signal: AbortSignal, control: string) => status({ control, signal }, new CaptureIo())],
    ] as const) {
      const path = join(dir, `silent-${name}.sock`)
      const { server, connected } = await silentControl(path)
      try {
        const controller = new AbortController()
        const run = command(controller.signal, path)
        const outcome = run.then(
          () => undefined,
          (error: unknown) => error,
        )
        await connected
        controller.abort()
        expect(await outcome, name).toBeInstanceOf(AbortError)
        expect(abortListeners(controller.signal), name).toBe(0)
      } finally {
        server.close()
      }
    }
  })

  it('keygen: aborted before the identity is written, it writes nothing', async () => {
    const controller = new AbortController()
    const out = join(dir, 'keygen-aborted')
    const run = keygen(
      { out, trustFile: join(dir, 'keygen-trust.json'), signal: controller.signal },
      new CaptureIo(),
    )
    controller.abort() // while the key is generated
    await expect(run).rejects.toBeInstanceOf(AbortError)
    expect(existsSync(out)).toBe(false)
    expect(existsSync(join(dir, 'keygen-trust.json'))).toBe(false)
    expect(abortListeners(controller.signal)).toBe(0)
  })

  it('startConfiguredNode: aborted while starting, it rejects and leaves no node on the port', async () => {
    const port = await freeUdpPort()
    const config = parseConfig(
      { identity: join(dir, 'a'), listen: `127.0.0.1:${port}`, trust: 'trust.json' },
      { file: join(dir, 'peer.json') },
    )
    const controller = new AbortController()
    const run = startConfiguredNode(config, { signal: controller.signal })
    controller.abort()
    await expect(run).rejects.toBeInstanceOf(AbortError)
    expect(await udpPortInUse('127.0.0.1', port)).toBe(false)
  })

  it('DemoCluster.start: aborted while preparing, it rejects and removes what it created', async () => {
    const cluster = new DemoCluster({ nodes: 3, command: { file: process.execPath, args: [] } })
    const controller = new AbortController()
    const run = cluster.start({ signal: controller.signal })
    controller.abort() // while the identities are generated
    await expect(run).rejects.toBeInstanceOf(AbortError)
    expect(cluster.directory === undefined || !existsSync(cluster.directory)).toBe(true)
    expect(cluster.pids()).toEqual([])
    expect(abortListeners(controller.signal)).toBe(0)
  })
})

describe('a signal already aborted at the call: AbortError, and nothing happens', () => {
  const aborted = () => AbortSignal.abort(new Error('gone'))

  it('every command function', async () => {
    const io = new CaptureIo()
    const fresh = join(dir, 'never')
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['start', () => start({ identity: fresh, createIdentity: true, signal: aborted() }, io)],
      ['ping', () => ping(ids.b, { identity: fresh, createIdentity: true, signal: aborted() }, io)],
      ['discover', () => discover({ peer: [peerB()], signal: aborted() }, io)],
      ['status', () => status({ control: join(dir, 'b.sock'), signal: aborted() }, io)],
      ['services', () => services(undefined, { control: join(dir, 'b.sock'), signal: aborted() }, io)],
      ['keygen', () => keygen({ out: fresh, signal: aborted() }, io)],
      ['printId', () => printId({ identity: join(dir, 'a'), signal: aborted() }, io)],
      ['demo', () => demo({ nodes: 2, signal: aborted() }, io)],
      ['runCli', () => runCli(['node', 'peer', 'keygen', '--out', fresh], io, { signal: aborted() })],
      [
        'startConfiguredNode',
        () =>
          startConfiguredNode(parseConfig({ identity: fresh, createIdentity: true }, { file: 'x.json' }), {
            signal: aborted(),
          }),
      ],
    ]
    for (const [name, call] of calls) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error, name).toBeInstanceOf(AbortError)
      expect((error as Error).cause, name).toEqual(new Error('gone'))
    }
    expect(io.out + io.err).toBe('')
    expect(existsSync(fresh)).toBe(false)
    expect(handlers().sigint).toBe(baseline.sigint + 1) // node b's only
  })

  it('DemoCluster.start and publish', async () => {
    const cluster = new DemoCluster({
      nodes: 2,
      command: { file: process.execPath, args: [join(cliRoot, 'test', 'fixtures', 'args-node.mjs')] },
    })
    try {
      await expect(cluster.start({ signal: aborted() })).rejects.toBeInstanceOf(AbortError)
      expect(cluster.directory).toBeUndefined()
      expect(cluster.nodes).toEqual([])
      await cluster.start()
      const file = join(cluster.directory!, 'peers.json')
      await waitFor(() => cluster.nodes.every((n) => n.state === 'up'), { timeoutMs: 60_000 })
      const before = await readFile(file, 'utf8')
      await expect(cluster.publish({ signal: aborted() })).rejects.toBeInstanceOf(AbortError)
      expect(await readFile(file, 'utf8')).toBe(before) // the nodes' ports are not published
      await cluster.publish({ signal: new AbortController().signal })
      expect(await readFile(file, 'utf8')).not.toBe(before)
    } finally {
      await cluster.close(1000)
    }
  })
})
