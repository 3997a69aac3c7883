// `peer start --exit-with-stdin` whose stdin FAILS (here: a TCP socket the test resets, as a
// vanished terminal or supervisor would) stops cleanly instead of dying of an uncaught 'error'.
import { once } from 'node:events'
import net from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTempDir, PeerProcess, removeTempDir } from './helpers.js'

let dir: string
beforeAll(async () => {
  dir = await makeTempDir('stdin')
})
afterAll(() => removeTempDir(dir))

describe('peer start --exit-with-stdin', () => {
  it('stops cleanly (exit 0, a stopped event) when its stdin is reset', async () => {
    const server = net.createServer()
    server.listen({ host: '127.0.0.1', port: 0 })
    await once(server, 'listening')
    const { port } = server.address() as net.AddressInfo
    const accepted = once(server, 'connection') as Promise<[net.Socket]>
    const client = net.connect({ host: '127.0.0.1', port })
    client.on('error', () => {})
    await once(client, 'connect')
    const [serverSide] = await accepted
    serverSide.on('error', () => {})
    const p = new PeerProcess(
      [
        'start',
        '--identity',
        join(dir, 'n'),
        '--create-identity',
        '--listen',
        '127.0.0.1:0',
        '--exit-with-stdin',
        '--json',
      ],
      { stdin: client },
    )
    try {
      client.destroy() // the child holds its own copy of the socket
      await p.waitFor((x) => x.events.find((e) => e.event === 'started'), 30_000, 'started')
      serverSide.resetAndDestroy()
      const result = await p.exited
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).not.toContain('ECONNRESET')
      expect(p.events.at(-1)).toMatchObject({ event: 'stopped', reason: 'stdin closed' })
    } finally {
      await p.stop('SIGKILL', 1000)
      server.close()
    }
  }, 60_000)
})
