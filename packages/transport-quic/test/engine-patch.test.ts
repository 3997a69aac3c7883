// The engine's hot-path fixes are applied at run time (so npm users get them too): check that they
// are active on the pinned engine, that they do what they claim on real QUIC, and that the guard
// refuses any other engine build.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { errors as engineErrors } from '@matrixai/quic'
import type { Identity } from '@peer/identity'
import { runExample } from '@peer/testkit/examples'
import { sendDatagrams } from '@peer/testkit/udp-send'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ENGINE_OBJECT } from '../src/engine.js'
import {
  applyEnginePatch,
  ENGINE_PATCH_ENV,
  engineMismatch,
  PATCHED_ENGINE_SHA256,
  PATCHED_ENGINE_VERSION,
  RecvTurn,
} from '../src/engine-patch.js'
import { tuningFor } from '../src/tuning.js'
import { identities, Pool } from './fixtures/pool.js'

const here = dirname(fileURLToPath(import.meta.url))
const pool = Pool.forFile({ server: 'matrixai', client: 'matrixai' }) // tests of the matrixai engine itself
const [a, b] = (await identities(2)) as [Identity, Identity]
afterEach(() => vi.restoreAllMocks())

describe('engine patch guard', () => {
  it('is applied to the pinned engine release', () => {
    expect(applyEnginePatch()).toEqual({ applied: true })
  })

  it('can be turned off with PEER_QUIC_ENGINE_PATCH=off (the engine then runs as published)', async () => {
    const run = (env: Record<string, string>) =>
      runExample(join(here, 'fixtures', 'engine-patch-state.ts'), { env }).then((r) => JSON.parse(r.stdout))
    const [off, on] = await Promise.all([run({ [ENGINE_PATCH_ENV]: 'off' }), run({ [ENGINE_PATCH_ENV]: '' })])
    expect(off).toEqual({ applied: false, reason: `${ENGINE_PATCH_ENV}=off` })
    expect(on).toEqual({ applied: true })
  })

  it('refuses another version or a modified file, naming the reason', () => {
    expect(engineMismatch(PATCHED_ENGINE_VERSION, PATCHED_ENGINE_SHA256)).toBeUndefined()
    expect(engineMismatch('2.0.10', PATCHED_ENGINE_SHA256)).toMatch(/2\.0\.10.*2\.0\.9/)
    const other = '0'.repeat(64)
    expect(
      engineMismatch(PATCHED_ENGINE_VERSION, { ...PATCHED_ENGINE_SHA256, 'QUICStream.js': other }),
    ).toMatch(/QUICStream\.js differs/)
    expect(
      engineMismatch(PATCHED_ENGINE_VERSION, { ...PATCHED_ENGINE_SHA256, 'QUICConnection.js': other }),
    ).toMatch(/QUICConnection\.js differs/)
  })
})

describe('RecvTurn', () => {
  it('runs bodies one at a time, in call order, and releases after a throw', async () => {
    const turn = new RecvTurn()
    const log: string[] = []
    let inside = 0
    const body = (name: string, fail = false) =>
      turn.withF(async () => {
        inside++
        expect(inside).toBe(1)
        log.push(`start ${name}`)
        await new Promise((resolve) => setTimeout(resolve, 5))
        log.push(`end ${name}`)
        inside--
        if (fail) throw new Error(`${name} failed`)
        return name
      })
    const results = await Promise.allSettled([body('a'), body('b', true), body('c')])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
    // free again: runs at once
    await expect(turn.withF(async () => 'd')).resolves.toBe('d')
  })
})

describe('engine patch on real QUIC', () => {
  it('serialises recv with RecvTurn and sends small packets without 65,000-byte buffers', async () => {
    const payload = tuningFor('127.0.0.1').maxSendUdpPayloadSize
    expect(payload).toBeGreaterThan(16384) // loopback: the large-buffer case the patch is about
    const { client, server } = await pool.pair(a, b)
    const turns = vi.spyOn(RecvTurn.prototype, 'withF')
    const allocations = vi.spyOn(Buffer, 'allocUnsafe')

    const [ours, theirs] = await Promise.all([client.openChannel(), server.acceptChannel()])
    const rounds = 200
    const echo = (async () => {
      for (let i = 0; i < rounds; i++) await theirs.send((await theirs.receive())!)
    })()
    for (let i = 0; i < rounds; i++) {
      await ours.send(new Uint8Array(64).fill(i))
      expect((await ours.receive())?.[0]).toBe(i)
    }
    await echo

    // every datagram on both sides went through the turn (>= one per round trip and side)
    expect(turns.mock.calls.length).toBeGreaterThanOrEqual(2 * rounds)
    // unpatched: at least one payload-sized buffer per send() call, i.e. >= 2 per round trip
    const large = allocations.mock.calls.filter(([size]) => size === payload).length
    expect(large).toBeLessThanOrEqual(2)
  })

  it("keeps the engine's ready guard on send: a stopped connection refuses to send", async () => {
    const { client } = await pool.pair(a, b)
    const stream = await client.openStream()
    const engineConnection = (stream as unknown as Record<symbol, { connection: { send(): Promise<void> } }>)[
      ENGINE_OBJECT
    ]!.connection
    await client.close('done')
    await expect(engineConnection.send()).rejects.toBeInstanceOf(engineErrors.ErrorQUICConnectionNotRunning)
  })

  it('a packet for no connection that is not an Initial (no token) is dropped, not thrown', async () => {
    // the foreign-token patch read header.token before the engine's own type check: a Handshake
    // packet for a connection the server no longer knows (late packets after a close do this)
    // threw in the socket's message handler, an unhandled rejection (the suite's guard fails the
    // test on one)
    const listener = await pool.server(b).listen({ host: '127.0.0.1', port: 0 })
    const id = (n: number) => Buffer.alloc(8, n)
    const handshake = Buffer.concat([
      Buffer.from([0xe0, 0, 0, 0, 1, 8]),
      id(1),
      Buffer.from([8]),
      id(2),
      Buffer.from([0x40, 20]),
      Buffer.alloc(20, 7),
    ])
    await sendDatagrams([handshake, handshake], '127.0.0.1', listener.address.port, 0)
    // the datagrams were handled before this dial's: the server still answers
    const conn = await pool.client(a).dial(listener.address, { expectedId: b.id })
    expect(conn.remoteId).toBe(b.id)
    await conn.close()
  })
})
