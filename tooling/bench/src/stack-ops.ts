// What one run does on one pipe of a stack: bulk, 64-byte messages, request/response. Channels
// (our transport, tls) send messages; raw stacks write the same bytes framed by hand into 64 KiB
// writes, and their server walks the frame headers (the least any receiver of messages must do).
import type { CpuMeter } from './bench-stats.js'
import { MODE_ECHO, MODE_FRAMES, MODE_SINK, readReport } from './raw-stream.js'
import type { BenchConn, Pipe } from './transport-stacks.js'

const KiB = 1024
const block = Buffer.alloc(64 * KiB, 7)
const small = Buffer.alloc(64, 1)
const perWrite = Math.floor((64 * KiB) / 68)
const framed = Buffer.alloc(perWrite * 68)
for (let i = 0; i < perWrite; i++) framed.writeUInt32BE(64, i * 68)
const request = Buffer.alloc(64, 2)
const rawRequest = Buffer.alloc(68, 2)
rawRequest.writeUInt32BE(64, 0)

/** Sends the end of our side and waits for the server's report. */
async function finishAndReport(p: Pipe): Promise<{ bytes: number; count: number }> {
  if (p.kind === 'channel') {
    await p.ch.close()
    const r = await p.ch.receive()
    if (r === undefined) throw new Error('no report')
    return readReport(r)
  }
  await p.s.finish()
  const r = await p.s.read()
  if (r === undefined) throw new Error('no report')
  return readReport(r)
}

/** Bulk: `bytes` in messages or writes of `messageBytes` (default 64 KiB); returns MB/s. */
export async function bulk(
  conn: BenchConn,
  bytes: number,
  meter?: CpuMeter,
  messageBytes = block.byteLength,
): Promise<number> {
  const p = await conn.pipe(MODE_SINK)
  const data = messageBytes === block.byteLength ? block : Buffer.alloc(messageBytes, 7)
  await meter?.begin()
  const t = performance.now()
  for (let sent = 0; sent < bytes; sent += data.byteLength) {
    if (p.kind === 'channel') await p.ch.send(data)
    else await p.s.write(data)
  }
  const r = await finishAndReport(p)
  const seconds = (performance.now() - t) / 1000
  await meter?.end()
  if (r.bytes !== bytes) throw new Error(`bulk: server got ${r.bytes} of ${bytes} bytes`)
  return bytes / seconds / 1e6
}

/** 64-byte messages: `count` sends (channels) or the same frames in 64 KiB writes; returns msg/s. */
export async function messages(conn: BenchConn, count: number, meter?: CpuMeter): Promise<number> {
  const p = await conn.pipe(p0Mode(conn))
  const writes = Math.ceil(count / perWrite)
  const expected = p.kind === 'channel' ? count : writes * perWrite
  await meter?.begin()
  const t = performance.now()
  if (p.kind === 'channel') for (let i = 0; i < count; i++) await p.ch.send(small)
  else for (let i = 0; i < writes; i++) await p.s.write(framed)
  const r = await finishAndReport(p)
  const seconds = (performance.now() - t) / 1000
  await meter?.end()
  if (r.count !== expected) throw new Error(`messages: server got ${r.count} of ${expected}`)
  return expected / seconds
}
// channels count messages in sink mode; raw streams need the frame-walking mode
const p0Mode = (conn: BenchConn) => (conn.raw ? MODE_FRAMES : MODE_SINK)

/**
 * `n` sequential 64-byte request/response round trips; pushes each latency (us) into `into`. The
 * stream is finished afterwards, unless `leaveOpen` (a stream still in use, as a node's lanes are).
 */
export async function echo(conn: BenchConn, n: number, into?: number[], leaveOpen = false): Promise<void> {
  const p = await conn.pipe(MODE_ECHO)
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    if (p.kind === 'channel') {
      await p.ch.send(request)
      await p.ch.receive()
    } else {
      await p.s.write(rawRequest)
      let got = 0
      while (got < rawRequest.byteLength) {
        const c = await p.s.read()
        if (c === undefined) throw new Error('raw echo ended')
        got += c.byteLength
      }
    }
    into?.push((performance.now() - t) * 1000)
  }
  if (leaveOpen) return
  if (p.kind === 'channel') await p.ch.close()
  else await p.s.finish()
}
