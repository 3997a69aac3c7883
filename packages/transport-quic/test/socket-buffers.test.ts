// A listener's UDP receive buffer against `socketBufferSize`: quinn's binding sizes only its client
// sockets, so a quinn listener keeps the kernel's default (`net.core.rmem_default`); matrixai sizes
// it (up to `net.core.rmem_max`). The transport says so once, at `info`, when the listener gets
// less than it asked for. The buffer matters when the process pauses: what arrives meanwhile is
// queued there, and what does not fit is dropped (docs/benchmarks/cluster-churn.md).
import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateIdentity } from '@peer/identity'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { afterAll, describe, expect, it } from 'vitest'
import type { EngineName } from '../src/engine.js'
import { engineCapabilities } from '../src/engine-capabilities.js'
import { createTransport } from '../src/index.js'
import { kernelReceiveBuffers, receiveBufferShortfall } from '../src/socket-buffers.js'

const me = await generateIdentity()
const kernel = kernelReceiveBuffers()

describe('receiveBufferShortfall', () => {
  const k = { default: 212_992, max: 4_194_304 }
  it('a listener the engine does not size keeps the default: short of anything larger', () => {
    expect(receiveBufferShortfall(4_194_304, false, k)).toEqual({
      effective: 212_992,
      raise: 'sysctl -w net.core.rmem_default=4194304',
    })
    expect(receiveBufferShortfall(212_992, false, k)).toBeUndefined()
  })

  it('a listener the engine sizes gets up to rmem_max', () => {
    expect(receiveBufferShortfall(4_194_304, true, k)).toBeUndefined()
    expect(receiveBufferShortfall(8_388_608, true, k)).toEqual({
      effective: 4_194_304,
      raise: 'sysctl -w net.core.rmem_max=8388608',
    })
  })

  it('says nothing when nothing was asked or the kernel is unknown', () => {
    expect(receiveBufferShortfall(0, false, k)).toBeUndefined()
    expect(receiveBufferShortfall(4_194_304, false, undefined)).toBeUndefined()
  })
})

describe('the kernel sizes', () => {
  it('are read from /proc/sys/net/core on Linux', () => {
    const read = (name: string) => Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8'))
    expect(kernel).toEqual({ default: read('rmem_default'), max: read('rmem_max') })
  })
})

describe('the note when a listener gets less than it asked for', () => {
  /** The `info` lines about the receive buffer of a transport that listened twice. */
  async function notes(engine: EngineName, socketBufferSize: number): Promise<string[]> {
    const { factory: logger, records } = recordingLogger()
    const t = createTransport({ identity: me, trust: () => true, logger, engine, socketBufferSize })
    try {
      await t.listen({ host: '127.0.0.1', port: 0 })
      await t.listen({ host: '127.0.0.1', port: 0 })
    } finally {
      await t.close('done')
    }
    return records
      .filter((r) => r.level === 'info' && r.message.includes('receive buffer'))
      .map((r) => r.message)
  }

  it('quinn: once per transport, with the size it got and the sysctl that raises it', async () => {
    const lines = await notes('quinn', kernel!.default + 4096)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(
      `is ${kernel!.default} bytes, below socketBufferSize (${kernel!.default + 4096})`,
    )
    expect(lines[0]).toContain(`sysctl -w net.core.rmem_default=${kernel!.default + 4096}`)
    // asking for what the default gives: nothing to say
    expect(await notes('quinn', kernel!.default)).toEqual([])
  })

  it('matrixai: only above rmem_max', async () => {
    expect(await notes('matrixai', kernel!.max)).toEqual([])
    const lines = await notes('matrixai', kernel!.max + 4096)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(`sysctl -w net.core.rmem_max=${kernel!.max + 4096}`)
  })
})

describe('what a stopped listener queues (the capability is true to the kernel)', () => {
  const children: RpcChild[] = []
  afterAll(async () => {
    for (const c of children) {
      try {
        process.kill(c.pid, 'SIGCONT')
      } catch {
        // already gone
      }
    }
    await Promise.allSettled(children.map((c) => c.close(5000)))
  })

  /** Bytes queued on the listener's socket once 2,000 datagrams of 1,200 bytes came while it was stopped. */
  async function queuedWhileStopped(engine: EngineName, socketBufferSize: number): Promise<number> {
    const child = await spawnChild(fileURLToPath(new URL('./fixtures/peer-node.ts', import.meta.url)))
    children.push(child)
    await child.call('init', { engine, tuning: { socketBufferSize } })
    const { port } = await child.call<{ port: number }>('listen', { host: '127.0.0.1' })
    process.kill(child.pid, 'SIGSTOP')
    const sender = createSocket('udp4')
    try {
      const datagram = Buffer.alloc(1200) // a short header for no connection: dropped once read
      for (let i = 0; i < 2000; i++) {
        await new Promise<void>((resolve, reject) =>
          sender.send(datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
        )
      }
      const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
      const line = readFileSync('/proc/net/udp', 'utf8')
        .split('\n')
        .find((l) => l.trim().split(/\s+/)[1] === local)
      expect(line, `no socket on port ${port} in /proc/net/udp`).toBeDefined()
      return Number.parseInt(line!.trim().split(/\s+/)[4]!.split(':')[1]!, 16)
    } finally {
      sender.close()
      process.kill(child.pid, 'SIGCONT')
    }
  }

  it('quinn: a listener queues no more than the kernel default, whatever it asked for', async () => {
    expect(engineCapabilities.quinn.listenerSocketBuffers).toBe(false)
    const queued = await queuedWhileStopped('quinn', 4 * 1024 * 1024)
    // the kernel lets the queue pass its limit by one datagram at most
    expect(queued).toBeLessThanOrEqual(kernel!.default + 4096)
  })

  it('matrixai: a listener queues past the default when it asked for more (and rmem_max allows it)', async () => {
    expect(engineCapabilities.matrixai.listenerSocketBuffers).toBe(true)
    const asked = Math.min(4 * 1024 * 1024, kernel!.max)
    const queued = await queuedWhileStopped('matrixai', asked)
    if (asked > 2 * kernel!.default) expect(queued).toBeGreaterThan(kernel!.default + 4096)
    else expect(queued).toBeLessThanOrEqual(asked * 2 + 4096)
  })
})
