// The @matrixai engine logs through its own logger (@matrixai/logger); the transport bridges it into
// the injected logger under `peer:transport:quic:engine`. The engine only logs at info and debug, so
// through the transport (which passes 'warn' when a logger is given) nothing would show: this test
// drives the engine with 'info' to see the bridge carry real engine records, and 'silent' to see none.
import type { Identity } from '@peer/identity'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { EngineContext } from '../src/engine.js'
import { matrixaiEngine } from '../src/engine-matrixai.js'
import { tuningFor } from '../src/tuning.js'
import { identities } from './fixtures/pool.js'

let server: Identity

beforeAll(async () => {
  ;[server] = (await identities(1)) as [Identity]
})

afterAll(async () => {
  await matrixaiEngine.close()
})

async function listenWith(level: EngineContext['engineLogLevel']): Promise<string[]> {
  const { factory, records } = recordingLogger()
  const ctx: EngineContext = {
    identity: server,
    tuning: tuningFor('127.0.0.1'),
    logger: factory('peer:transport:quic:engine'),
    engineLogLevel: level,
  }
  const srv = await matrixaiEngine.listen(ctx, { host: '127.0.0.1', port: 0 }, async () => true)
  await srv.stop('done')
  return records.map((r) => `${r.level} ${r.message}`)
}

it('bridges the engine logger into ours: engine records arrive at their level, named by the engine logger', async () => {
  const lines = await listenWith('info')
  // @matrixai/quic logs `Start QUICSocket on ...` at info when the server's socket starts; the bridge
  // prefixes the engine logger's keys (`quic:server...`)
  expect(lines.some((l) => /^info quic:server\S*: Start QUICSocket/.test(l))).toBe(true)
})

it('passes nothing from the engine when its level is silent (no logger given)', async () => {
  const lines = await listenWith('silent')
  expect(lines.filter((l) => l.includes('quic:server'))).toEqual([])
})
