// Durations of the command functions' options are in ms with an `Ms` suffix (issue 16, item 6);
// the old names still work for one minor version with a one-time DeprecationWarning, and the old
// `duration` / `statsInterval` were seconds. The flags keep their names and units.
// The flag tests come first: a deprecated name used by mistake would warn there, and a warning is
// emitted once per process.
import { join } from 'node:path'
import { ConfigError } from '@peer/discovery-core'
import { generateIdentity, saveIdentity, TrustList } from '@peer/identity'
import { waitFor } from '@peer/testkit/wait'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  CliError,
  DemoCluster,
  DemoConfigError,
  type DemoNodeState,
  demo,
  discover,
  ping,
  runCli,
  type StartOptions,
  start,
} from '../src/index.js'
import { cliRoot, makeTempDir, removeTempDir } from './helpers.js'
import { CaptureIo } from './support/capture-io.js'

let dir: string
let trustFile: string
let target: { id: string; identity: string; peer: string; controller: AbortController; run: Promise<void> }
let pinger: string

/** The DeprecationWarnings of renamed options emitted so far. */
let warnings: string[] = []
beforeAll(async () => {
  vi.spyOn(process, 'emitWarning').mockImplementation((warning, options) => {
    const code = typeof options === 'object' ? options.code : undefined
    if (code === 'PEER_DEPRECATED_OPTION') warnings.push(String(warning))
  })
  dir = await makeTempDir('durations')
  const trust = new TrustList()
  const made: string[] = []
  for (const name of ['t', 'p']) {
    const identity = await generateIdentity()
    await saveIdentity(identity, join(dir, name))
    trust.add(identity.id)
    made.push(identity.id)
  }
  trustFile = join(dir, 'trust.json')
  await trust.save(trustFile)
  pinger = join(dir, 'p')
  const io = new CaptureIo()
  const controller = new AbortController()
  const run = start(
    {
      identity: join(dir, 't'),
      listen: '127.0.0.1:0',
      trustFile,
      control: false,
      json: true,
      signal: controller.signal,
    },
    io,
  )
  const started = await io.waitFor(() => io.event('started'), 'the target started', run)
  target = {
    id: made[0]!,
    identity: join(dir, 't'),
    peer: `${made[0]}@127.0.0.1:${started.port}`,
    controller,
    run,
  }
})

afterEach(() => {
  warnings = []
})

afterAll(async () => {
  target.controller.abort()
  await target.run
  vi.restoreAllMocks()
  await removeTempDir(dir)
})

/** Runs `call`, returning how long it took to settle, in ms. */
async function timed(call: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await call()
  return performance.now() - t0
}

// a timer may fire up to a millisecond early; the lower bounds below only need to tell seconds
// from milliseconds apart (a load that slows the machine only makes the runs longer)
const EARLY = 5
// An interval's next turn is counted from the start of the turn that ran it, not from when its
// callback ran: a `stats` line printed late in its turn (after the chatter's sends, on a loaded
// machine) is followed by one printed early. Two 100 ms intervals apart are thus at least one
// interval apart, and "0.1" read as milliseconds would print them about 2 ms apart.
const ONE_INTERVAL = 100

/**
 * Runs `peer start` (the function, or the command line when `options` is an argv tail) for a node
 * that knows the target, until it has printed three `stats` events and one that counts chatter
 * sent; returns the ms from the first `stats` event to the third (two stats intervals, at least).
 */
async function statsAndChatter(options: StartOptions | string[]): Promise<number> {
  const io = new CaptureIo()
  const controller = new AbortController()
  const { signal } = controller
  const flags = ['--identity', pinger, '--listen', '127.0.0.1:0', '--trust-file', trustFile]
  const node = { identity: pinger, listen: '127.0.0.1:0', trustFile, control: false as const, json: true }
  const run = Array.isArray(options)
    ? runCli(
        ['node', 'peer', 'start', ...flags, '--peer', target.peer, '--no-control', '--json', ...options],
        io,
        { signal },
      )
    : start({ ...node, peer: [target.peer], ...options, signal }, io)
  const stats = () => io.events.filter((e) => e.event === 'stats')
  await io.waitFor(() => stats().length >= 1, 'the first stats event', run)
  const t0 = performance.now()
  await io.waitFor(() => stats().length >= 3, 'the third stats event', run)
  const gap = performance.now() - t0
  // the chatter (messages to every peer) shows in messagesSent once the target is up
  await io.waitFor(() => stats().some((e) => Number(e.messagesSent) > 0), 'chatter sent', run)
  controller.abort()
  expect(await run).toBe(Array.isArray(options) ? 0 : undefined)
  return gap
}

describe('the flags keep their names and units, and map to the new options', () => {
  it('peer discover --duration 0.5 (seconds) ends by itself after 500 ms, no deprecation warning', async () => {
    const io = new CaptureIo()
    const took = await timed(async () => {
      expect(
        await runCli(['node', 'peer', 'discover', '--peer', target.peer, '--duration', '0.5', '--json'], io),
      ).toBe(0)
    })
    expect(took).toBeGreaterThanOrEqual(500 - EARLY)
    expect(io.event('discovered')).toMatchObject({ id: target.id })
    expect(warnings).toEqual([])
  })

  it('peer ping --interval / --timeout / --connect-timeout (ms): no deprecation warning', async () => {
    const io = new CaptureIo()
    const argv = ['node', 'peer', 'ping', target.id, '--identity', pinger, '--trust-file', trustFile]
    const flags = [
      '--peer',
      target.peer,
      '-n',
      '2',
      '--interval',
      '1',
      '--timeout',
      '5000',
      '--connect-timeout',
      '60000',
    ]
    expect(await runCli([...argv, ...flags, '--json'], io), io.err).toBe(0)
    expect(io.event('summary')).toMatchObject({ sent: 2, received: 2 })
    expect(warnings).toEqual([])
  })

  it('peer start --stats 0.1 (seconds) --chatter 20 (ms): stats every 100 ms, chatter; no deprecation warning', async () => {
    expect(await statsAndChatter(['--stats', '0.1', '--chatter', '20'])).toBeGreaterThanOrEqual(ONE_INTERVAL)
    expect(warnings).toEqual([])
  })
})

describe('durationMs of start, discover and demo; the deprecated duration is in seconds', () => {
  it('start: durationMs stops the node by itself', async () => {
    const io = new CaptureIo()
    const took = await timed(() =>
      start(
        { identity: pinger, listen: '127.0.0.1:0', trustFile, control: false, json: true, durationMs: 1000 },
        io,
      ),
    )
    expect(took).toBeGreaterThanOrEqual(1000 - EARLY)
    if (io.event('started') !== undefined) expect(io.event('stopped')?.reason).toBe('duration elapsed')
    expect(warnings).toEqual([])
  })

  it('start: the deprecated duration is seconds, with a one-time warning', async () => {
    const io = new CaptureIo()
    const took = await timed(() =>
      start(
        { identity: pinger, listen: '127.0.0.1:0', trustFile, control: false, json: true, duration: 1 },
        io,
      ),
    )
    expect(took).toBeGreaterThanOrEqual(1000 - EARLY)
    expect(warnings).toEqual([
      '@peer/cli start: option `duration` is deprecated; use `durationMs` (in milliseconds)',
    ])
  })

  it('start: both names with different values, or a value that is not > 0, is a ConfigError', async () => {
    const io = new CaptureIo()
    await expect(start({ duration: 1, durationMs: 2000 }, io)).rejects.toThrow(
      /give durationMs or the deprecated duration, not both/,
    )
    for (const bad of [0, -1, Number.NaN]) {
      await expect(start({ durationMs: bad }, io)).rejects.toMatchObject({
        name: 'ConfigError',
        option: 'durationMs',
      })
    }
    await expect(start({ durationMs: 0 }, io)).rejects.toBeInstanceOf(ConfigError)
    expect(io.out + io.err).toBe('')
  })

  it('discover: durationMs, and the deprecated duration in seconds', async () => {
    const io = new CaptureIo()
    const ms = await timed(() => discover({ peer: [target.peer], json: true, durationMs: 500 }, io))
    expect(ms).toBeGreaterThanOrEqual(500 - EARLY)
    expect(warnings).toEqual([])
    const seconds = await timed(() => discover({ peer: [target.peer], json: true, duration: 0.5 }, io))
    expect(seconds).toBeGreaterThanOrEqual(500 - EARLY)
    expect(warnings).toEqual([
      '@peer/cli discover: option `duration` is deprecated; use `durationMs` (in milliseconds)',
    ])
  })

  it('demo: durationMs is the length of the scripted run; the deprecated duration is seconds', async () => {
    const command = { file: process.execPath, args: [join(cliRoot, 'test', 'fixtures', 'args-node.mjs')] }
    for (const [options, warned] of [
      [{ durationMs: 7000 }, []],
      [
        { duration: 7 },
        ['@peer/cli demo: option `duration` is deprecated; use `durationMs` (in milliseconds)'],
      ],
    ] as const) {
      const io = new CaptureIo()
      const controller = new AbortController()
      // the fake nodes never connect: the demo waits for the cluster to form until the abort
      const run = demo({ nodes: 2, command, ...options, signal: controller.signal }, io)
      // the plain-text header names the length of the run
      await io.waitFor(() => io.err.includes('static discovery, 7 s'), 'the header', run)
      controller.abort()
      await run
      expect(io.out).toMatch(/stopped 2 nodes; no processes left, temp dir removed/)
      expect(warnings).toEqual(warned)
    }
  })
})

describe('start: statsIntervalMs and chatterMs; the deprecated stats is in seconds, chatter in ms', () => {
  it('statsIntervalMs and chatterMs', async () => {
    expect(await statsAndChatter({ statsIntervalMs: 100, chatterMs: 20 })).toBeGreaterThanOrEqual(
      ONE_INTERVAL,
    )
    expect(warnings).toEqual([])
  })

  it('the deprecated stats (seconds) and chatter (ms), with a one-time warning each', async () => {
    expect(await statsAndChatter({ stats: 0.1, chatter: 20 })).toBeGreaterThanOrEqual(ONE_INTERVAL)
    expect(warnings.sort()).toEqual([
      '@peer/cli start: option `chatter` is deprecated; use `chatterMs`',
      '@peer/cli start: option `stats` is deprecated; use `statsIntervalMs` (in milliseconds)',
    ])
  })

  it('both names with different values, or a value that is not > 0, is a ConfigError; nothing starts', async () => {
    const io = new CaptureIo()
    await expect(start({ stats: 1, statsIntervalMs: 500 }, io)).rejects.toThrow(
      /give statsIntervalMs or the deprecated stats, not both/,
    )
    await expect(start({ chatter: 20, chatterMs: 30 }, io)).rejects.toThrow(
      /give chatterMs or the deprecated chatter, not both/,
    )
    for (const option of ['statsIntervalMs', 'chatterMs'] as const) {
      for (const bad of [0, -1, Number.NaN]) {
        await expect(start({ [option]: bad }, io)).rejects.toMatchObject({ name: 'ConfigError', option })
      }
    }
    await expect(start({ stats: 0 }, io)).rejects.toBeInstanceOf(ConfigError)
    expect(io.out + io.err).toBe('')
  })
})

describe('DemoCluster: statsIntervalMs; the deprecated statsInterval is in seconds', () => {
  const command = { file: process.execPath, args: [join(cliRoot, 'test', 'fixtures', 'args-node.mjs')] }

  /** The `--stats` argument each node was started with. */
  async function statsArgs(options: { statsIntervalMs?: number; statsInterval?: number }): Promise<string[]> {
    const cluster = new DemoCluster({ nodes: 2, command, ...options })
    try {
      await cluster.start()
      const args = (node: DemoNodeState) => {
        const line = cluster.stderrOf(node).find((l) => l.startsWith('args '))
        return line === undefined ? undefined : (JSON.parse(line.slice(5)) as string[])
      }
      await waitFor(() => cluster.nodes.every((n) => args(n) !== undefined), {
        timeoutMs: 60_000,
        what: 'the nodes to print their arguments',
      })
      return cluster.nodes.map((n) => {
        const a = args(n)!
        return a[a.indexOf('--stats') + 1]!
      })
    } finally {
      await cluster.close(1000)
    }
  }

  it('statsIntervalMs 250 -> --stats 0.25; default 500 ms -> --stats 0.5', async () => {
    expect(await statsArgs({ statsIntervalMs: 250 })).toEqual(['0.25', '0.25'])
    expect(await statsArgs({})).toEqual(['0.5', '0.5'])
    expect(warnings).toEqual([])
  })

  it('the deprecated statsInterval 0.25 (seconds) -> --stats 0.25, with a one-time warning', async () => {
    expect(await statsArgs({ statsInterval: 0.25 })).toEqual(['0.25', '0.25'])
    expect(warnings).toEqual([
      'DemoCluster: option `statsInterval` is deprecated; use `statsIntervalMs` (in milliseconds)',
    ])
  })

  it('both names with different values, or a bad value, is a DemoConfigError', () => {
    expect(() => new DemoCluster({ nodes: 2, command, statsInterval: 1, statsIntervalMs: 500 })).toThrow(
      DemoConfigError,
    )
    expect(() => new DemoCluster({ nodes: 2, command, statsIntervalMs: -5 })).toThrow(
      /statsIntervalMs must be a number > 0 and <= 2147483647, got -5/,
    )
  })
})

describe('ping: intervalMs, timeoutMs, connectTimeoutMs; the deprecated names (same unit, ms)', () => {
  const noProvider = (options: Record<string, number>) =>
    ping('service:nothing', { identity: pinger, trustFile, json: true, ...options }, new CaptureIo())

  it('connectTimeoutMs bounds the wait for a provider', async () => {
    await expect(noProvider({ connectTimeoutMs: 300 })).rejects.toThrow(
      /no provider of service "nothing" is known after 300 ms/,
    )
    expect(warnings).toEqual([])
  })

  it('the deprecated connectTimeout is ms too, with a one-time warning', async () => {
    const error = await noProvider({ connectTimeout: 300 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CliError)
    expect((error as Error).message).toMatch(/is known after 300 ms/)
    expect(warnings).toEqual([
      '@peer/cli ping: option `connectTimeout` is deprecated; use `connectTimeoutMs`',
    ])
  })

  it('intervalMs and timeoutMs, then the deprecated interval and timeout', async () => {
    const run = (options: Record<string, number>) => {
      const io = new CaptureIo()
      return ping(
        target.id,
        { identity: pinger, trustFile, peer: [target.peer], count: 2, json: true, ...options },
        io,
      ).then(() => io.event('summary'))
    }
    expect(await run({ intervalMs: 1, timeoutMs: 5000 })).toMatchObject({ sent: 2, received: 2 })
    expect(warnings).toEqual([])
    expect(await run({ interval: 1, timeout: 5000 })).toMatchObject({ sent: 2, received: 2 })
    expect(warnings.sort()).toEqual([
      '@peer/cli ping: option `interval` is deprecated; use `intervalMs`',
      '@peer/cli ping: option `timeout` is deprecated; use `timeoutMs`',
    ])
    await expect(run({ interval: 1, intervalMs: 2 })).rejects.toThrow(
      /give intervalMs or the deprecated interval, not both/,
    )
  })
})
