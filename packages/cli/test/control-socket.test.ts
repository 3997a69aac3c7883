// The control socket of `peer start`, in process: mode 0600, stale socket files replaced, a live
// one refused, bounded clients / request size / idle time, and fuzzed input that always gets an
// error reply (never a crash, never a hang): the request parser alone, and over a real socket.
import { spawn } from 'node:child_process'
import { lstat, mkdir, writeFile } from 'node:fs/promises'
import { createConnection, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { mutatedText } from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ControlClient, NodeGoneError } from '../src/control-client.js'
import {
  type ControlReply,
  isControlRequest,
  MAX_REQUEST_BYTES,
  parseControlRequest,
} from '../src/control-protocol.js'
import { ControlServer } from '../src/control-server.js'
import { CliError } from '../src/errors.js'
import { makeTempDir, removeTempDir } from './helpers.js'

let dir: string
beforeAll(async () => {
  dir = await makeTempDir('control')
})
afterAll(() => removeTempDir(dir))

const handler = (method: string) => (method === 'hello' ? { hello: true } : { status: 'ok' })

/** Connects, writes `text`, collects reply lines until `done(lines)` or the server closes. */
function exchange(
  path: string,
  text: string | Uint8Array,
  done: (lines: ControlReply[]) => boolean,
): Promise<{ lines: ControlReply[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const lines: ControlReply[] = []
    let partial = ''
    const socket: Socket = createConnection({ path })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer; got ${JSON.stringify(lines)}`))
    }, 20_000)
    const finish = (closed: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ lines, closed })
    }
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      partial += chunk
      let nl = partial.indexOf('\n')
      while (nl >= 0) {
        lines.push(JSON.parse(partial.slice(0, nl)) as ControlReply)
        partial = partial.slice(nl + 1)
        nl = partial.indexOf('\n')
      }
      if (done(lines)) finish(false)
    })
    socket.on('error', () => {})
    socket.on('close', () => finish(true))
    socket.write(text)
  })
}

describe('control socket', () => {
  it('is created with mode 0600, answers requests and is removed on close', async () => {
    const path = join(dir, 'a.sock')
    const server = await ControlServer.listen(path, handler)
    try {
      const st = await lstat(path)
      expect(st.isSocket()).toBe(true)
      expect(st.mode & 0o777).toBe(0o600)
      const client = await ControlClient.connect(path)
      expect(await client.request('status')).toEqual({ status: 'ok' })
      expect(await client.request('hello')).toEqual({ hello: true })
      client.close()
    } finally {
      await server.close()
    }
    await expect(lstat(path)).rejects.toMatchObject({ code: 'ENOENT' })
    // the client's error for a socket nobody serves
    await expect(ControlClient.connect(path)).rejects.toThrow(/no node is running with the control socket/)
  })

  it('the client bounds a request the node never answers (time limit, abort) and can ask again', async () => {
    const path = join(dir, 'silent.sock')
    // a server that accepts and reads but never replies
    const silent = createServer((socket) => socket.resume())
    await new Promise<void>((resolve) => silent.listen(path, resolve))
    try {
      const client = await ControlClient.connect(path)
      await expect(client.request('status', { timeoutMs: 200 })).rejects.toThrow(
        /did not answer "status" in time/,
      )
      // the timed-out request no longer occupies the client
      await expect(client.request('status', { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({
        name: 'AbortError',
      })
      await expect(client.request('hello', { timeoutMs: 100 })).rejects.toThrow(
        /did not answer "hello" in time/,
      )
      client.close()
    } finally {
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })

  it('replaces a stale socket file left by a killed process, and refuses a live one', async () => {
    const path = join(dir, 'stale.sock')
    // a process that binds the socket and dies by SIGKILL: the file stays, nothing accepts on it
    const child = spawn(process.execPath, [
      '-e',
      "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))",
      path,
    ])
    await new Promise((resolve) => child.on('close', resolve))
    expect((await lstat(path)).isSocket()).toBe(true)
    const server = await ControlServer.listen(path, handler)
    try {
      const client = await ControlClient.connect(path)
      expect(await client.request('status')).toEqual({ status: 'ok' })
      client.close()
      // a second server on the live socket is refused, and the live one keeps working
      await expect(ControlServer.listen(path, handler)).rejects.toThrow(
        /already running with the control socket/,
      )
      const again = await ControlClient.connect(path)
      expect(await again.request('status')).toEqual({ status: 'ok' })
      again.close()
    } finally {
      await server.close()
    }
    // something that is not a socket is never removed
    const file = join(dir, 'not-a-socket')
    await writeFile(file, 'keep me')
    await expect(ControlServer.listen(file, handler)).rejects.toThrow(/exists and is not a socket/)
    expect((await lstat(file)).isFile()).toBe(true)
    // a path too long for a Unix socket says so
    const long = join(dir, 'x'.repeat(120), 'c.sock')
    await expect(ControlServer.listen(long, handler)).rejects.toBeInstanceOf(CliError)
  })

  it('serves at most maxClients at once, closes idle clients and oversized requests', async () => {
    const path = join(dir, 'bounds.sock')
    const server = await ControlServer.listen(path, handler, { maxClients: 2, idleMs: 300 })
    try {
      const a = await ControlClient.connect(path)
      const b = await ControlClient.connect(path)
      await a.request('hello')
      await b.request('hello')
      const third = await exchange(path, '', (lines) => lines.length > 0)
      expect(third.lines[0]).toMatchObject({
        ok: false,
        error: { name: 'Busy', message: 'at most 2 control clients at once' },
      })
      // idle clients are closed by the server
      await Promise.all([a.closed, b.closed])
      await expect(a.request('status')).rejects.toBeInstanceOf(NodeGoneError)
      // a line over the limit: an error reply, then the connection is closed
      const big = await exchange(path, 'x'.repeat(MAX_REQUEST_BYTES + 10), () => false)
      expect(big.closed).toBe(true)
      expect(big.lines).toEqual([
        expect.objectContaining({ ok: false, error: expect.objectContaining({ name: 'RequestTooLarge' }) }),
      ])
      // a handler that throws is an InternalError reply, not a crash
      expect(server.stats.badRequests).toBeGreaterThan(0)
    } finally {
      await server.close()
    }
    const failing = await ControlServer.listen(path, () => {
      throw new Error('boom')
    })
    try {
      const r = await exchange(path, '{"id":7,"method":"status"}\n', (lines) => lines.length > 0)
      expect(r.lines[0]).toEqual({ id: 7, ok: false, error: { name: 'InternalError', message: 'boom' } })
    } finally {
      await failing.close()
    }
  })

  it(
    'fuzz: any request line is parsed into a request or an error reply, never a throw',
    () => {
      const valid = fc
        .record({
          id: fc.oneof(fc.integer(), fc.string({ maxLength: 70 }), fc.constant(null)),
          method: fc.oneof(fc.constantFrom('status', 'hello'), fc.string({ maxLength: 10 })),
        })
        .map((r) => JSON.stringify(r))
      fc.assert(
        fc.property(
          fc.oneof(
            valid,
            mutatedText(valid),
            fc.string({ maxLength: 200 }),
            fc.jsonValue().map((v) => JSON.stringify(v)),
          ),
          (line) => {
            const parsed = parseControlRequest(line)
            if (isControlRequest(parsed)) {
              expect(['status', 'hello']).toContain(parsed.method)
            } else {
              expect(parsed.ok).toBe(false)
              if (!parsed.ok) expect(parsed.error.message.length).toBeGreaterThan(8)
              // every reply serialises (what the server writes)
              expect(() => JSON.stringify(parsed)).not.toThrow()
            }
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'fuzz: bytes over a real socket always get error replies and the server keeps serving',
    async () => {
      const path = join(dir, 'fuzz.sock')
      await mkdir(dir, { recursive: true })
      const server = await ControlServer.listen(path, handler)
      const valid = fc.constantFrom(
        '{"id":1,"method":"status"}',
        '{"method":"hello"}',
        '{"id":"x","method":"nope"}',
      )
      const input = fc.oneof(
        mutatedText(valid).map((t) => new TextEncoder().encode(t)),
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ minLength: MAX_REQUEST_BYTES, maxLength: MAX_REQUEST_BYTES + 200 }),
      )
      try {
        await fc.assert(
          fc.asyncProperty(input, async (bytes) => {
            // the fuzzed bytes, then a marker request: every line before it got one JSON reply
            const marker = new TextEncoder().encode('\n{"id":"marker","method":"hello"}\n')
            const text = new Uint8Array([...bytes, ...marker])
            const r = await exchange(path, text, (lines) => lines.some((l) => l.id === 'marker'))
            for (const line of r.lines) expect(typeof line.ok).toBe('boolean')
            if (r.closed && !r.lines.some((l) => l.id === 'marker')) {
              // only a line over the size limit closes the connection, with its error reply
              expect(r.lines.some((l) => !l.ok && l.error.name === 'RequestTooLarge')).toBe(true)
            } else {
              expect(r.lines.at(-1)).toEqual({ id: 'marker', ok: true, result: { hello: true } })
            }
          }),
          fuzzParams(200),
        )
        // still serving after all that
        const client = await ControlClient.connect(path)
        expect(await client.request('status')).toEqual({ status: 'ok' })
        client.close()
        expect(server.clients).toBeLessThanOrEqual(1)
      } finally {
        await server.close()
      }
    },
    fuzzTimeoutMs(200, 100),
  )

  it('a test server that is not ours: the client reports a malformed reply', async () => {
    const path = join(dir, 'rogue.sock')
    const rogue = createServer((s) => {
      s.on('data', () => s.write('not json\n'))
      s.on('error', () => {})
    })
    await new Promise<void>((resolve) => rogue.listen(path, resolve))
    try {
      const client = await ControlClient.connect(path)
      await expect(client.request('status')).rejects.toThrow(/malformed control reply/)
      client.close()
    } finally {
      await new Promise((resolve) => rogue.close(resolve))
    }
  })
})
