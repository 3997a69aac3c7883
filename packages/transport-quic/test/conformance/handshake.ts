import { InvalidNodeIdError } from '@peer/discovery-core'
import type { Identity } from '@peer/identity'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { nextEvent, recordEvents, waitFor } from '@peer/testkit/wait'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import {
  type Connection,
  ConnectTimeoutError,
  HandshakeError,
  type HelloPeer,
  type Listener,
  MAX_HELLO_BYTES,
  PinningError,
  PROTOCOL_VERSION,
  type QuicTransport,
  type Stream,
  TransportError,
  UntrustedPeerError,
} from '../../src/index.js'
import { identities, LOOPBACK } from '../fixtures/pool.js'
import type { Kit } from './kit.js'

export function handshakeScenarios(kit: Kit): void {
  const { pool } = kit
  let server: Identity
  let client: Identity
  let stranger: Identity
  let listener: Listener
  let serverTransport: QuicTransport
  const trusted = new Set<string>()

  beforeAll(async () => {
    ;[server, client, stranger] = (await identities(3)) as [Identity, Identity, Identity]
    trusted.add(client.id)
    serverTransport = pool.server(server, { trust: (id) => trusted.has(id) })
    listener = await serverTransport.listen(LOOPBACK)
  })

  async function failure(p: Promise<unknown>): Promise<Error> {
    try {
      await p
    } catch (error) {
      return error as Error
    }
    throw new Error('expected a rejection')
  }

  describe('handshake', () => {
    it('connects with mutual pinning: both sides see the other id, address and direction', async () => {
      const accepted = nextEvent<CustomEvent>(listener, 'connection')
      const conn = await pool.client(client).dial(listener.address, { expectedId: server.id })
      const inbound = (await accepted).detail.connection
      expect(conn.remoteId).toBe(server.id)
      expect(conn.direction).toBe('outbound')
      expect(conn.remoteAddress).toEqual({ host: '127.0.0.1', port: listener.address.port })
      expect(inbound.remoteId).toBe(client.id)
      expect(inbound.direction).toBe('inbound')
      // quinn's client endpoint does not expose its local port (capability localPort)
      if (kit.lacks('client', 'localPort') === undefined) {
        expect(inbound.remoteAddress.port).toBe(conn.localAddress.port)
      }
      expect(listener.connections).toContain(inbound)
      expect(listener.address.port).toBeGreaterThan(0)
      // the smoothed RTT as the engines report it: whole ms, rounded down (documented so)
      for (const rtt of [conn.rtt, inbound.rtt]) {
        if (rtt !== undefined) expect(Number.isInteger(rtt) && rtt >= 0, `rtt ${rtt}`).toBe(true)
      }
      await conn.close()
    })

    it("carries each side's hello bytes to the other before the connection is handed out (mutual)", async () => {
      const serverHello = Uint8Array.from({ length: MAX_HELLO_BYTES }, (_, i) => i % 251)
      const clientHello = new TextEncoder().encode('client hello')
      const helloServer = pool.server(server, { trust: (id) => trusted.has(id), hello: serverHello })
      const helloListener = await helloServer.listen(LOOPBACK)
      const accepted = nextEvent<CustomEvent>(helloListener, 'connection')
      const conn = await pool
        .client(client, { hello: clientHello })
        .dial(helloListener.address, { expectedId: server.id })
      expect(conn.remoteHello).toEqual(serverHello)
      const inbound = (await accepted).detail.connection as Connection
      expect(inbound.remoteHello).toEqual(clientHello)
      // hellos are mutual: when one side gives none, neither sees one (the bytes then on the wire
      // are the form versions before hellos send and expect)
      const plain = nextEvent<CustomEvent>(helloListener, 'connection')
      const bare = await pool.client(client).dial(helloListener.address, { expectedId: server.id })
      expect(bare.remoteHello).toBeUndefined()
      expect(((await plain).detail.connection as Connection).remoteHello).toBeUndefined()
      const silent = nextEvent<CustomEvent>(listener, 'connection')
      const none = await pool.client(client, { hello: clientHello }).dial(listener.address, {
        expectedId: server.id,
      })
      expect(none.remoteHello).toBeUndefined()
      expect(((await silent).detail.connection as Connection).remoteHello).toBeUndefined()
      // setHello replaces the bytes for connections confirmed from then on
      helloServer.setHello(Uint8Array.of(9))
      const later = await pool
        .client(client, { hello: clientHello })
        .dial(helloListener.address, { expectedId: server.id })
      expect(later.remoteHello).toEqual(Uint8Array.of(9))
      expect(conn.remoteHello).toEqual(serverHello)
      await Promise.all([conn.close(), bare.close(), none.close(), later.close(), helloListener.close()])
    })

    it('a hello source gives each connection its own bytes and learns whether it was handed out', async () => {
      const asked: HelloPeer[] = []
      const source = (tag: string) => (peer: HelloPeer) => {
        asked.push(peer)
        return new TextEncoder().encode(`${tag}:${peer.id.slice(0, 8)}`)
      }
      const helloServer = pool.server(server, { trust: (id) => trusted.has(id), hello: source('in') })
      const helloListener = await helloServer.listen(LOOPBACK)
      const accepted = nextEvent<CustomEvent>(helloListener, 'connection')
      const conn = await pool
        .client(client, { hello: source('out') })
        .dial(helloListener.address, { expectedId: server.id })
      const inbound = (await accepted).detail.connection as Connection
      const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes)
      expect(text(conn.remoteHello)).toBe(`in:${client.id.slice(0, 8)}`)
      expect(text(inbound.remoteHello)).toBe(`out:${server.id.slice(0, 8)}`)
      expect(asked.map((p) => [p.direction, p.id])).toEqual([
        ['inbound', client.id],
        ['outbound', server.id],
      ])
      expect(await Promise.all(asked.map((p) => p.confirmed))).toEqual([true, true])
      // a source that throws or answers no bytes: that connection carries no hello, and works
      for (const broken of [
        () => {
          throw new Error('boom')
        },
        () => 'not bytes' as unknown as Uint8Array,
      ]) {
        helloServer.setHello(broken)
        const next = nextEvent<CustomEvent>(helloListener, 'connection')
        const plain = await pool
          .client(client, { hello: Uint8Array.of(2) })
          .dial(helloListener.address, { expectedId: server.id })
        expect(plain.remoteHello).toBeUndefined()
        expect(((await next).detail.connection as Connection).remoteHello).toBeUndefined()
        const channel = await plain.openChannel()
        await channel.send(Uint8Array.of(7))
        await plain.close()
      }
      // a listener that stops accepting while it writes its hello: confirmed settles false
      asked.length = 0
      helloServer.setHello((peer) => {
        asked.push(peer)
        helloListener.stopAccepting('not now')
        return Uint8Array.of(1)
      })
      const refused = await pool
        .client(client, { hello: Uint8Array.of(2) })
        .dial(helloListener.address, { expectedId: server.id })
        .catch((error: Error) => error)
      expect(asked).toHaveLength(1)
      expect(await asked[0]!.confirmed).toBe(false)
      if (!(refused instanceof Error)) await refused.closed
      await Promise.all([conn.close(), helloListener.close()])
    })

    it('drops a second control stream from the server without closing the connection', async () => {
      const accepted = nextEvent<CustomEvent>(listener, 'connection')
      const conn = await pool.client(client).dial(listener.address, { expectedId: server.id })
      const inbound = (await accepted).detail.connection as Connection
      const before = (conn as unknown as { droppedStreams: number }).droppedStreams
      const forged = await (
        inbound as unknown as { openStreamWithKind(k: number): Promise<Stream> }
      ).openStreamWithKind(0)
      const w = forged.writable.getWriter()
      await w.write(Uint8Array.of(PROTOCOL_VERSION, 1, 2, 3)).catch(() => {})
      await w.close().catch(() => {})
      await waitFor(() => (conn as unknown as { droppedStreams: number }).droppedStreams === before + 1)
      expect(conn.remoteHello).toBeUndefined()
      expect(conn.isClosed || inbound.isClosed).toBe(false)
      await conn.close()
    })

    it('rejects a server with a different id, naming both ids', async () => {
      const seen = recordEvents(listener, ['connection'])
      const error = await failure(pool.client(client).dial(listener.address, { expectedId: stranger.id }))
      expect(error).toBeInstanceOf(PinningError)
      expect((error as PinningError).expectedId).toBe(stranger.id)
      expect((error as PinningError).actualId).toBe(server.id)
      expect(error.message).toContain(stranger.id)
      expect(error.message).toContain(server.id)
      await new Promise((r) => setTimeout(r, 50))
      expect(seen.events).toHaveLength(0)
      seen.stop()
    })

    it('refuses an untrusted client in the handshake, on both sides', async () => {
      const rejected = nextEvent<CustomEvent>(listener, 'connection:rejected')
      const error = await failure(pool.client(stranger).dial(listener.address, { expectedId: server.id }))
      expect(error).toBeInstanceOf(UntrustedPeerError)
      const event = await rejected
      expect(event.detail.id).toBe(stranger.id)
      expect(event.detail.reason).toMatch(/untrusted/)
      expect(listener.connections.some((c) => c.remoteId === stranger.id)).toBe(false)
    })

    it('asks the trust policy on each connection (async answers, and throws mean no)', async () => {
      const calls: string[] = []
      let mode: 'yes' | 'throw' | 'slow-no' = 'yes'
      const t = pool.server(server, {
        trust: async (id) => {
          calls.push(id)
          if (mode === 'throw') throw new Error('policy crashed')
          await new Promise((r) => setTimeout(r, 20))
          return mode === 'yes'
        },
      })
      const l = await t.listen(LOOPBACK)
      const c = pool.client(client)
      const conn = await c.dial(l.address, { expectedId: server.id })
      expect(calls).toEqual([client.id])
      mode = 'throw'
      expect(await failure(c.dial(l.address, { expectedId: server.id }))).toBeInstanceOf(UntrustedPeerError)
      mode = 'slow-no'
      expect(await failure(c.dial(l.address, { expectedId: server.id }))).toBeInstanceOf(UntrustedPeerError)
      expect(conn.isClosed).toBe(false)
      await l.close()
    })

    it('supports P-256 identities on either side', async () => {
      const [p1, p2] = await Promise.all([
        import('@peer/identity').then((m) => m.generateIdentity({ keyType: 'p256' })),
        import('@peer/identity').then((m) => m.generateIdentity({ keyType: 'p256' })),
      ])
      // a P-256 identity always runs on matrixai (quinn cannot present it), with the reason given
      const serverTransport = pool.server(p1)
      expect(serverTransport.engine).toBe('matrixai')
      if (kit.pair.server === 'quinn') expect(serverTransport.engineFallbackReason).toMatch(/p256/)
      const l = await serverTransport.listen(LOOPBACK)
      const conn = await pool.client(p2).dial(l.address, { expectedId: p1.id })
      expect(conn.remoteId).toBe(p1.id)
      const dialed = pool.client(client).dial(l.address, { expectedId: p1.id })
      if (kit.pair.client === 'matrixai') {
        const conn2 = await dialed
        expect(conn2.remoteId).toBe(p1.id)
      } else {
        // quinn refuses ECDSA host keys: an Ed25519 node on quinn cannot dial a P-256 node, and
        // the error says why (rustls alone says "UnknownIssuer")
        const error = await failure(dialed)
        expect(error).toBeInstanceOf(HandshakeError)
        expect(error.message).toMatch(/a node with a P-256 identity runs on the matrixai engine/)
      }
      if (kit.pair.server === 'quinn') {
        // and a P-256 node cannot dial an Ed25519 node on quinn: the same words on its side
        const refused = await failure(pool.client(p2).dial(listener.address, { expectedId: server.id }))
        expect(refused).toBeInstanceOf(HandshakeError)
        expect(refused.message).toMatch(/a node with a P-256 identity runs on the matrixai engine/)
      }
      await l.close()
    })

    it('validates expectedId before dialing', async () => {
      const error = await failure(pool.client(client).dial(listener.address, { expectedId: 'nope' }))
      expect(error).toBeInstanceOf(InvalidNodeIdError)
    })

    it('aborts a dial through its signal', async () => {
      const c = pool.client(client)
      const before = await failure(
        c.dial(listener.address, { expectedId: server.id, signal: AbortSignal.abort(new Error('no')) }),
      )
      expect(before.name).toBe('AbortError')
      // nothing answers on this port: abort while waiting
      const dead = await deadPort()
      const controller = new AbortController()
      setTimeout(() => controller.abort(), 50)
      const during = await failure(c.dial(dead, { expectedId: server.id, signal: controller.signal }))
      expect(during.name).toBe('AbortError')
    })

    it('reports the commit of a dial (onCommit) before the listener hands the connection out', async () => {
      const order: string[] = []
      const accepted = nextEvent<CustomEvent>(listener, 'connection').then(() => order.push('accepted'))
      const c = pool.client(client)
      expect(c.reportsDialCommit).toBe(true)
      const conn = await c.dial(listener.address, {
        expectedId: server.id,
        onCommit: () => order.push('commit'),
      })
      order.push('dialed')
      await accepted
      expect(order[0]).toBe('commit')
      expect(order.filter((o) => o === 'commit')).toHaveLength(1)
      await conn.close()
      // a callback that throws is logged; the dial goes on
      const next = nextEvent<CustomEvent>(listener, 'connection')
      const other = await c.dial(listener.address, {
        expectedId: server.id,
        onCommit: () => {
          throw new Error('boom')
        },
      })
      await next
      await other.close()
    })

    it('never commits a dial aborted before its acknowledgement: the listener does not hand it out', async () => {
      // the dialer's hello source runs right before the acknowledgement: abort the dial there
      const controller = new AbortController()
      const c = pool.client(client, {
        hello: () => {
          controller.abort(new Error('given up'))
          return undefined
        },
      })
      const events = recordEvents(listener, ['connection'])
      let committed = 0
      const error = await failure(
        c.dial(listener.address, {
          expectedId: server.id,
          signal: controller.signal,
          onCommit: () => committed++,
        }),
      )
      expect(error.name).toBe('AbortError')
      expect(committed).toBe(0)
      // a later dial is handed out; the aborted one never was
      const next = nextEvent<CustomEvent>(listener, 'connection')
      const conn = await pool.client(client).dial(listener.address, { expectedId: server.id })
      const inbound = (await next).detail.connection as Connection
      expect(inbound.remoteId).toBe(client.id)
      expect(events.events.map((e) => (e.detail as { connection: Connection }).connection)).toEqual([inbound])
      await conn.close()
    })

    it('fails with ConnectTimeoutError when nothing answers', async () => {
      // the idle timeout (the engine's own end of a silent handshake) out of the test's reach: the
      // error names the limit that ended the dial, connectTimeoutMs (not its 10 s default)
      const c = pool.client(client, { connectTimeoutMs: 300, maxIdleTimeoutMs: 600_000 })
      const error = await failure(c.dial(await deadPort(), { expectedId: server.id }))
      expect(error).toBeInstanceOf(ConnectTimeoutError)
      expect(error.message).toMatch(/ within 300 ms$/)
    })

    it('fails with ConnectTimeoutError when the server answers but never confirms', async () => {
      // its trust policy never answers: the handshake completes, the confirmation never comes
      const silent = pool.server(server, { trust: () => new Promise<boolean>(() => {}) })
      const l = await silent.listen(LOOPBACK)
      const error = await failure(
        pool.client(client, { connectTimeoutMs: 500 }).dial(l.address, { expectedId: server.id }),
      )
      expect(error).toBeInstanceOf(ConnectTimeoutError)
      expect(error.message).toMatch(/within 500 ms/)
      await l.close()
    })

    it('reports a bind failure clearly', async () => {
      const error = await failure(
        pool.server(server).listen({ host: '127.0.0.1', port: listener.address.port }),
      )
      expect(error).toBeInstanceOf(TransportError)
      expect(error.message).toMatch(/cannot listen on 127.0.0.1/)
    })

    it('rejects work after the transport is closed', async () => {
      const t = pool.client(client)
      await t.close()
      await expect(t.dial(listener.address, { expectedId: server.id })).rejects.toThrow(/transport is closed/)
      await expect(t.listen(LOOPBACK)).rejects.toThrow(/transport is closed/)
    })
  })

  describe('logging', () => {
    it('is silent by default: the engine writes nothing to stderr or stdout', async () => {
      const err = vi.spyOn(process.stderr, 'write')
      const out = vi.spyOn(process.stdout, 'write')
      try {
        const t = pool.server(stranger, { trust: () => true })
        const l = await t.listen(LOOPBACK)
        const conn = await pool.client(client).dial(l.address, { expectedId: stranger.id })
        await conn.close('done')
        await pool
          .client(client)
          .dial(l.address, { expectedId: server.id })
          .catch(() => {})
        await l.close()
        expect(err).not.toHaveBeenCalled()
        expect(out).not.toHaveBeenCalled()
      } finally {
        err.mockRestore()
        out.mockRestore()
      }
    })

    // the engine's own records reaching this logger: test/engine-logger.test.ts
    it('logs a refused client through the injected logger, only under peer:transport:quic', async () => {
      const { factory: logger, records } = recordingLogger()
      const t = pool.server(server, { trust: () => false, logger })
      const l = await t.listen(LOOPBACK)
      await pool
        .client(client)
        .dial(l.address, { expectedId: server.id })
        .catch(() => {})
      await l.close()
      const lines = records.map((r) => `${r.level} ${r.namespace} ${r.message}`)
      expect(lines.some((l) => l.includes('peer:transport:quic') && l.includes('client refused'))).toBe(true)
      expect(lines.every((l) => l.split(' ')[1]?.startsWith('peer:transport:quic'))).toBe(true)
    })
  })

  async function deadPort(): Promise<{ host: string; port: number }> {
    const { createSocket } = await import('node:dgram')
    const s = createSocket('udp4')
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r))
    const port = s.address().port
    // keep it bound (and silent) for the test's duration so nobody else gets the port
    setTimeout(() => s.close(), 5000).unref()
    return { host: '127.0.0.1', port }
  }
}
