// The quinn engine is the default where its binary loads; where it does not, the transport falls
// back to matrixai, says why at info level and in `engineFallbackReason`, and works. The binding
// is loaded once per process (per test file here), so this file turns it off before any transport.
import type { LoggerFactory } from '@peer/discovery-core'
import type { Identity } from '@peer/identity'
import { afterAll, expect, it } from 'vitest'
import { DEFAULT_ENGINE } from '../src/index.js'
import { identities, LOOPBACK, Pool } from './fixtures/pool.js'

process.env.PEER_QUIC_QUINN_BINDING = 'off'
const savedEngine = process.env.PEER_QUIC_ENGINE
afterAll(() => {
  delete process.env.PEER_QUIC_QUINN_BINDING
  if (savedEngine === undefined) delete process.env.PEER_QUIC_ENGINE
  else process.env.PEER_QUIC_ENGINE = savedEngine
})

const pool = Pool.forFile()
const [a, b] = (await identities(2)) as [Identity, Identity]

function recordingLogger(): { factory: LoggerFactory; infos: Array<[string, Record<string, unknown>]> } {
  const infos: Array<[string, Record<string, unknown>]> = []
  const factory: LoggerFactory = (namespace) => ({
    namespace,
    debug: () => {},
    info: (message, fields = {}) => infos.push([message, fields]),
    warn: () => {},
    error: () => {},
  })
  return { factory, infos }
}

it('quinn is the default engine', () => {
  expect(DEFAULT_ENGINE).toBe('quinn')
})

it('without the quinn binary, the default falls back to matrixai, logs why at info and still connects', async () => {
  delete process.env.PEER_QUIC_ENGINE
  const log = recordingLogger()
  const server = pool.make(a, { logger: log.factory })
  const client = pool.make(b, { engine: 'quinn' })
  for (const t of [server, client]) {
    expect(t.engine).toBe('matrixai')
    expect(t.engineFallbackReason).toBe('PEER_QUIC_QUINN_BINDING=off')
  }
  expect(log.infos).toContainEqual([
    'QUIC engine quinn unavailable; using matrixai',
    { reason: 'PEER_QUIC_QUINN_BINDING=off' },
  ])
  const listener = await server.listen(LOOPBACK)
  const conn = await client.dial(listener.address, { expectedId: a.id })
  expect(conn.remoteId).toBe(a.id)
})

it('asking for matrixai is not a fallback', () => {
  const t = pool.make(a, { engine: 'matrixai' })
  expect(t.engine).toBe('matrixai')
  expect(t.engineFallbackReason).toBeUndefined()
})
