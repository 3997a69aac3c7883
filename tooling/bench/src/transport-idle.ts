// Idle-connection figures of `pnpm bench transport`, per stack in fresh processes (a new server and
// a new client child each, so what earlier phases allocated does not blur the deltas): RSS per idle
// connection, CPU of both processes while `n` connections idle with a 5 s keepalive, and the time to
// close all of them at once.
import { fileURLToPath } from 'node:url'
import type { Identity } from '@peer/identity'
import { spawnChild } from '@peer/testkit/child-process'
import { orderFor, watchdog } from './bench-stats.js'
import { emptyStackValues, type Figures } from './transport-figures.js'
import { clientPins, type Endpoints, STACKS } from './transport-stacks.js'

const SERVER_FILE = fileURLToPath(new URL('./transport-server.ts', import.meta.url))
const KiB = 1024

export async function runIdle(o: {
  identity: Identity
  host: string
  quick: boolean
  figures: Figures
  log: (line: string) => void
}): Promise<string> {
  const { identity, host, quick, figures, log } = o
  const n = quick ? 50 : 200
  const idleMs = quick ? 5_000 : 10_000
  const rounds = 1
  const rssServer = emptyStackValues()
  const rssClient = emptyStackValues()
  const cpu = emptyStackValues()
  const close = emptyStackValues()
  for (let round = 0; round < rounds; round++) {
    for (const stack of orderFor(STACKS, round + 1)) {
      const server = await spawnChild(SERVER_FILE)
      const client = await spawnChild(SERVER_FILE)
      try {
        await watchdog(
          (async () => {
            const s = await server.call<{ endpoints: Endpoints }>(
              'start',
              { client: clientPins(identity), host },
              { timeoutMs: 60_000 },
            )
            await client.call('clientStart', {
              pem: { privateKeyPem: identity.privateKeyPem, certificatePem: identity.certificatePem },
            })
            const serverBefore = await server.call<number>('rss')
            const r = await client.call<{ before: number; after: number }>(
              'idle',
              { stack, endpoint: s.endpoints[stack], n },
              { timeoutMs: 120_000 },
            )
            const serverAfter = await server.call<number>('rss')
            rssServer[stack].push((serverAfter - serverBefore) / n / KiB)
            rssClient[stack].push((r.after - r.before) / n / KiB)
            // idle CPU: both processes, over `idleMs` (two keepalive intervals at 5 s)
            const cpuBefore = (await server.call<number>('cpu')) + (await client.call<number>('cpu'))
            const t = performance.now()
            await new Promise((resolve) => setTimeout(resolve, idleMs))
            const cpuAfter = (await server.call<number>('cpu')) + (await client.call<number>('cpu'))
            const seconds = (performance.now() - t) / 1000
            cpu[stack].push((cpuAfter - cpuBefore) / 1000 / seconds)
            close[stack].push(await client.call<number>('closeAll', undefined, { timeoutMs: 60_000 }))
            log(
              `idle ${stack}: RSS server ${rssServer[stack].at(-1)?.toFixed(0)} KiB, client ${rssClient[stack].at(-1)?.toFixed(0)} KiB per connection; CPU ${cpu[stack].at(-1)?.toFixed(2)} ms/s; close ${n}: ${close[stack].at(-1)?.toFixed(1)} ms`,
            )
          })(),
          240_000,
          `idle ${stack}`,
        )
      } finally {
        await Promise.allSettled([client.close(), server.close()])
      }
    }
  }
  figures.add(
    'RSS per idle connection, server',
    'KiB',
    rssServer,
    'lower',
    `${n} connections, fresh processes`,
  )
  figures.add('RSS per idle connection, client', 'KiB', rssClient, 'lower')
  figures.add(
    'idle CPU, 200 connections, keepalive 5 s',
    'ms/s',
    cpu,
    'lower',
    `${n} idle connections, CPU of both processes over ${idleMs / 1000} s`,
  )
  figures.add(`close ${n} connections`, 'ms', close, 'lower', 'all closed at once (Promise.all), wall clock')
  return `idle connections: ${n} per stack in fresh client and server processes, ${idleMs / 1000} s idle with a 5 s keepalive (node:tls: TCP keepalive 5 s), then all closed at once`
}
