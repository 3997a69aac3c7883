// `node.stats` names the QUIC engine that runs and, when the quinn binary did not load, why the
// transport fell back to matrixai. The binding loads once per process (per test file here), so this
// file turns it off before any node starts.
import { generateIdentity } from '@peer/identity'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { afterAll, expect, it } from 'vitest'
import { createNode } from '../src/index.js'

process.env.PEER_QUIC_QUINN_BINDING = 'off'
const savedEngine = process.env.PEER_QUIC_ENGINE
delete process.env.PEER_QUIC_ENGINE
afterAll(() => {
  delete process.env.PEER_QUIC_QUINN_BINDING
  if (savedEngine === undefined) delete process.env.PEER_QUIC_ENGINE
  else process.env.PEER_QUIC_ENGINE = savedEngine
})

it('stats name the engine and the fallback reason when quinn does not load', async () => {
  const identity = await generateIdentity()
  const node = await createNode({
    name: 'engine@localhost',
    identity,
    trust: [identity.id],
    discovery: new ManualBackend(),
  })
  try {
    expect(node.stats.engine).toBe('matrixai')
    expect(node.stats.engineFallbackReason).toBe('PEER_QUIC_QUINN_BINDING=off')
  } finally {
    await node.stop()
  }
  // the counters are still plain numbers next to them
  expect(typeof node.stats.messagesSent).toBe('number')
})
