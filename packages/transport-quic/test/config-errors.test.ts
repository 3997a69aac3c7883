// Invalid options throw TransportConfigError (a ConfigError from @peer/discovery-core, naming the
// option), never a bare TypeError or RangeError; valid edge values are accepted.
import { ConfigError } from '@peer/discovery-core'
import type { Identity } from '@peer/identity'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { describe, expect, it } from 'vitest'
import { channelOptions } from '../src/channel-options.js'
import {
  createTransport,
  MAX_HELLO_BYTES,
  TransportConfigError,
  type TransportOptions,
  tuningFor,
} from '../src/index.js'
import { identities } from './fixtures/pool.js'

const [me] = (await identities(1)) as [Identity]

function configError(make: () => unknown, option: string): void {
  let thrown: unknown
  try {
    make()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(TransportConfigError)
  expect(thrown).toBeInstanceOf(ConfigError)
  expect((thrown as ConfigError).option).toBe(option)
}

describe('createTransport options', () => {
  const base = { identity: me, trust: () => true, engine: 'matrixai' } as const
  it('requires an identity and a trust function', () => {
    configError(() => createTransport({ trust: () => true } as unknown as TransportOptions), 'identity')
    configError(() => createTransport({ identity: me, trust: 'yes' } as unknown as TransportOptions), 'trust')
  })
  it('rejects an unknown engine', () => {
    configError(() => createTransport({ ...base, engine: 'msquic' as 'quinn' }), 'engine')
  })
  it.each([
    ['maxIdleTimeoutMs', -1],
    // a Node.js timer fires a longer delay after 1 ms
    ['maxIdleTimeoutMs', 2 ** 31],
    ['keepAliveIntervalMs', 2 ** 31],
    ['connectTimeoutMs', 2 ** 31],
    ['connectTimeoutMs', Number.NaN],
    ['keepAliveIntervalMs', Number.POSITIVE_INFINITY],
    ['maxSendUdpPayloadSize', 1199],
    ['maxStreams', 0],
    ['maxQueuedStreamOpens', -1],
    ['maxPendingStreams', 1.5],
    ['maxConnections', -5],
    ['maxProtocolErrors', '3'],
    ['maxStreamOpensPerSecond', 0],
  ] as const)('rejects %s = %s', (option, value) => {
    configError(() => createTransport({ ...base, [option]: value }), option)
  })
  it('rejects a hello that is not bytes or is longer than MAX_HELLO_BYTES', () => {
    configError(() => createTransport({ ...base, hello: 'hi' as unknown as Uint8Array }), 'hello')
    configError(() => createTransport({ ...base, hello: new Uint8Array(MAX_HELLO_BYTES + 1) }), 'hello')
    const transport = createTransport({ ...base, hello: new Uint8Array(MAX_HELLO_BYTES) })
    configError(() => transport.setHello(new Uint8Array(MAX_HELLO_BYTES + 1)), 'hello')
    transport.setHello(undefined)
    void transport.close()
  })
  it('rejects invalid default channel options', () => {
    configError(() => createTransport({ ...base, channel: { maxFrameSize: 0 } }), 'maxFrameSize')
  })
  it('accepts the edge values', async () => {
    const t = createTransport({
      ...base,
      maxSendUdpPayloadSize: 1200,
      maxStreams: 1,
      maxQueuedStreamOpens: 0,
      maxConnections: 0,
      maxStreamOpensPerSecond: 1,
      maxIdleTimeoutMs: 2 ** 31 - 1,
      keepAliveIntervalMs: 2 ** 31 - 1,
      connectTimeoutMs: 2 ** 31 - 1,
      channel: { maxFrameSize: 0xffffffff },
    })
    await t.close()
  })
})

describe('tuningFor and channelOptions', () => {
  it('tuningFor rejects a negative or non-number field and keeps valid overrides', () => {
    configError(() => tuningFor('127.0.0.1', { readChunkSize: -1 }), 'readChunkSize')
    expect(tuningFor('127.0.0.1', { readChunkSize: 0 }).readChunkSize).toBe(0)
    expect(tuningFor('10.0.0.1', { connectTimeoutMs: 5 }).connectTimeoutMs).toBe(5)
    // reads grow to 256 KiB on every path (64 KiB on networks cost a fifth of the veth bulk rate)
    expect(tuningFor('10.0.0.1').readChunkSize).toBe(256 * 1024)
  })
  it('channelOptions requires positive integers and a u32 maxFrameSize', () => {
    configError(() => channelOptions({ maxFrameSize: 2 ** 32 }), 'maxFrameSize')
    configError(() => channelOptions({ coalesceBytes: 0 }), 'coalesceBytes')
    configError(() => channelOptions({}, { partialFrameTimeoutMs: 1.5 }), 'partialFrameTimeoutMs')
    expect(channelOptions({ maxQueuedMessages: 1 }, { coalesceBytes: 7 })).toMatchObject({
      maxQueuedMessages: 1,
      coalesceBytes: 7,
    })
  })
})

describe('tuning options an engine does not apply', () => {
  /** The warnings a transport made with `options` logs as it is created. */
  async function warnings(options: Partial<TransportOptions>): Promise<string[]> {
    const { factory: logger, records } = recordingLogger()
    const t = createTransport({ identity: me, trust: () => true, logger, ...options })
    await t.close('done')
    return records
      .filter((r) => r.level === 'warn')
      .map((r) => `${r.message} ${JSON.stringify(r.fields ?? {})}`)
  }

  it('the quinn engine warns about the matrixai-only ones it was given, once, naming them', async () => {
    const lines = await warnings({ engine: 'quinn', initialMaxData: 1 << 20, maxSendUdpPayloadSize: 1400 })
    expect(lines).toEqual([
      'tuning options the quinn engine does not apply (matrixai engine only) {"options":"maxSendUdpPayloadSize, initialMaxData"}',
    ])
    // options it applies, and no options at all: nothing to say
    expect(await warnings({ engine: 'quinn', maxStreamWindow: 1 << 20, maxIdleTimeoutMs: 5000 })).toEqual([])
    expect(await warnings({ engine: 'quinn' })).toEqual([])
  })

  it('the matrixai engine applies them: no warning', async () => {
    expect(
      await warnings({ engine: 'matrixai', initialMaxData: 1 << 20, initialMaxStreamData: 1 << 18 }),
    ).toEqual([])
  })
})
