// The userland relay: forwards both ways, drops by a seeded loss rate, delays, partitions.
import { createSocket, type Socket } from 'node:dgram'
import { afterEach, expect, it } from 'vitest'
import { createUdpRelay, type UdpRelay } from '../src/udp-relay.js'
import { waitFor } from '../src/wait.js'

const open: Array<Socket | UdpRelay> = []
afterEach(async () => {
  for (const s of open.splice(0)) await Promise.resolve(s.close())
})

async function socket(onMessage: (msg: Buffer, from: { address: string; port: number }, s: Socket) => void) {
  const s = createSocket('udp4')
  open.push(s)
  s.on('message', (msg, rinfo) => onMessage(msg, rinfo, s))
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))
  return s
}

async function echoPair(options: { loss?: number; delayMs?: number; seed?: number } = {}) {
  const server = await socket((msg, from, s) => s.send(msg, from.port, from.address))
  const received: string[] = []
  const client = await socket((msg) => received.push(msg.toString()))
  const relay = await createUdpRelay({
    listenHost: '127.0.0.1',
    target: { host: '127.0.0.1', port: server.address().port },
    upstreamHost: '127.0.0.1',
    ...options,
  })
  open.push(relay)
  const send = (text: string) => client.send(text, relay.address.port, relay.address.host)
  return { relay, received, send }
}

it('forwards both ways', async () => {
  const { relay, received, send } = await echoPair()
  send('hello')
  await waitFor(() => received.includes('hello'))
  expect(relay.forwarded).toEqual({ up: 1, down: 1 })
})

it('drops a seeded share of packets, the same ones for the same seed', async () => {
  const runs: string[][] = []
  for (let run = 0; run < 2; run++) {
    const { relay, received, send } = await echoPair({ loss: 0.3, seed: 42 })
    for (let i = 0; i < 200; i++) send(String(i))
    await waitFor(
      () =>
        relay.forwarded.up + relay.dropped.up === 200 &&
        relay.forwarded.down + relay.dropped.down === relay.forwarded.up,
      { timeoutMs: 10_000 },
    )
    await waitFor(() => received.length === relay.forwarded.down, { timeoutMs: 10_000 })
    const lost = relay.dropped.up + relay.dropped.down
    expect(lost).toBeGreaterThan(60) // ~51% round-trip loss expected at 30% per direction
    expect(lost).toBeLessThan(160)
    runs.push([...received].sort())
  }
  expect(runs[0]).toEqual(runs[1])
})

it('delays packets', async () => {
  const { received, send } = await echoPair({ delayMs: 100 })
  const start = performance.now()
  send('slow')
  await waitFor(() => received.includes('slow'), { timeoutMs: 10_000 })
  expect(performance.now() - start).toBeGreaterThanOrEqual(195) // 100 ms each way
})

it('a partition drops everything until it heals', async () => {
  const { relay, received, send } = await echoPair()
  relay.partition(true)
  send('lost')
  await waitFor(() => relay.dropped.up === 1)
  relay.partition(false)
  send('after')
  await waitFor(() => received.includes('after'))
  expect(received).toEqual(['after'])
})
