// A TCP proxy on 127.0.0.1 in front of a real etcd that reads the HTTP/2 frames going through it
// (gRPC is HTTP/2) just enough to recognise etcd watch traffic, so a test can stall a watch CANCEL
// request: from the frame that carries it, every client->server byte of that connection is held
// back for a while, then sent in order. It also counts the cancel confirmations etcd sends back,
// so a test can wait until a late answer has really reached the client. Built on `startTcpProxy`:
// it can cut every connection (a partition) and heal.
//
// What is parsed: the client connection preface, then frame headers (9 bytes: 24-bit length, type,
// flags, stream id). In DATA frames (type 0) whose payload is exactly one gRPC message (1-byte
// compressed flag, 4-byte length, protobuf), the first protobuf tag tells the request apart:
// `WatchRequest.cancel_request` is field 2 (tag 0x12). Server->client, a `WatchResponse` with
// `canceled` (field 4, varint 1) is a cancel confirmation. Nothing is ever modified. (The only
// other etcd request that can start with tag 0x12 is a RangeRequest with an EMPTY key; discovery
// never sends one: its keys and prefixes are never empty. Watch creates start with 0x0a, lease
// requests with 0x08.)
import type net from 'node:net'
import { startTcpProxy } from './tcp-proxy.js'

/** A proxy whose watch-cancel requests a test can stall; see the file comment. */
export interface WatchStallProxy {
  readonly port: number
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string
  /** Watch-cancel requests seen going to etcd. */
  readonly cancelRequests: number
  /** Watch responses with `canceled: true` seen coming back from etcd. */
  readonly cancelReplies: number
  /** Stalls that have ended (their held bytes were sent on). */
  readonly stallsDone: number
  /** Connections open now. */
  readonly connections: number
  /**
   * Arms a stall: the next watch-cancel request, and everything the client sends after it on that
   * connection, is held for `holdMs` before it goes on to etcd. One stall per call.
   */
  stallNextCancel(holdMs: number): void
  /** Destroys every open connection and resets new ones until {@link heal}. */
  cut(): void
  /** Accepts new connections again. */
  heal(): void
  close(): Promise<void>
}

const PREFACE_BYTES = 24 // 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
const FRAME_HEADER = 9
const DATA = 0
const PADDED = 0x8

/** The payload of a DATA frame without padding, or undefined when the frame is not DATA. */
function dataPayload(frame: Buffer): Buffer | undefined {
  if (frame[3] !== DATA) return undefined
  let body = frame.subarray(FRAME_HEADER)
  if ((frame[4]! & PADDED) !== 0 && body.length > 0) body = body.subarray(1, body.length - body[0]!)
  return body
}

/** The protobuf of a DATA payload that holds exactly one uncompressed gRPC message. */
function grpcMessage(payload: Buffer): Buffer | undefined {
  if (payload.length < 5 || payload[0] !== 0) return undefined
  const length = payload.readUInt32BE(1)
  return payload.length === 5 + length ? payload.subarray(5) : undefined
}

function readVarint(buf: Buffer, at: number): [value: number, next: number] | undefined {
  let value = 0
  let shift = 0
  for (let i = at; i < buf.length && shift < 64; i++) {
    const byte = buf[i]!
    value += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) return [value, i + 1]
    shift += 7
  }
  return undefined
}

/** True when a protobuf message has top-level varint field `field` equal to 1. */
function hasTrueField(message: Buffer, field: number): boolean {
  let at = 0
  while (at < message.length) {
    const tag = readVarint(message, at)
    if (tag === undefined) return false
    const [key, next] = tag
    const wire = key % 8
    at = next
    if (wire === 0) {
      const v = readVarint(message, at)
      if (v === undefined) return false
      if (Math.floor(key / 8) === field && v[0] === 1) return true
      at = v[1]
    } else if (wire === 2) {
      const len = readVarint(message, at)
      if (len === undefined) return false
      at = len[1] + len[0]
    } else if (wire === 1) at += 8
    else if (wire === 5) at += 4
    else return false
  }
  return false
}

/** Splits a byte stream into whole HTTP/2 frames (after `skip` leading bytes, the preface). */
class FrameSplitter {
  #pending: Buffer = Buffer.alloc(0)
  #skip: number
  constructor(skip: number) {
    this.#skip = skip
  }
  /** Whole units (the preface, then frames) completed by `chunk`. */
  push(chunk: Buffer): Buffer[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk])
    const out: Buffer[] = []
    for (;;) {
      if (this.#skip > 0) {
        if (this.#pending.length < this.#skip) break
        out.push(this.#pending.subarray(0, this.#skip))
        this.#pending = this.#pending.subarray(this.#skip)
        this.#skip = 0
        continue
      }
      if (this.#pending.length < FRAME_HEADER) break
      const size = FRAME_HEADER + this.#pending.readUIntBE(0, 3)
      if (this.#pending.length < size) break
      out.push(this.#pending.subarray(0, size))
      this.#pending = this.#pending.subarray(size)
    }
    return out
  }
}

/** Starts a {@link WatchStallProxy} forwarding to `127.0.0.1:targetPort`. */
export async function startWatchStallProxy(targetPort: number): Promise<WatchStallProxy> {
  const timers = new Set<NodeJS.Timeout>()
  let armed: number[] = []
  let cancelRequests = 0
  let cancelReplies = 0
  let stallsDone = 0
  let connections = 0

  const forward = (inbound: net.Socket, outbound: net.Socket) => {
    connections++
    inbound.once('close', () => connections--)
    // client -> server: frame by frame, holding everything from a stalled cancel on
    const up = new FrameSplitter(PREFACE_BYTES)
    let held: Buffer[] | undefined
    inbound.on('data', (chunk: Buffer) => {
      for (const unit of up.push(chunk)) {
        if (held !== undefined) {
          held.push(unit)
          continue
        }
        const payload = dataPayload(unit)
        const message = payload === undefined ? undefined : grpcMessage(payload)
        if (message !== undefined && message[0] === 0x12) {
          cancelRequests++
          const holdMs = armed.shift()
          if (holdMs !== undefined) {
            const queue: Buffer[] = [unit]
            held = queue
            const timer = setTimeout(() => {
              timers.delete(timer)
              held = undefined
              if (!outbound.destroyed) outbound.write(Buffer.concat(queue))
              stallsDone++
            }, holdMs)
            timers.add(timer)
            continue
          }
        }
        outbound.write(unit)
      }
    })
    // server -> client: forwarded as it comes, watched for cancel confirmations
    const down = new FrameSplitter(0)
    outbound.on('data', (chunk: Buffer) => {
      for (const unit of down.push(chunk)) {
        const payload = dataPayload(unit)
        const message = payload === undefined ? undefined : grpcMessage(payload)
        if (message !== undefined && hasTrueField(message, 4)) cancelReplies++
      }
      inbound.write(chunk)
    })
  }
  const proxy = await startTcpProxy(targetPort, { forward })
  return {
    port: proxy.port,
    endpoint: proxy.endpoint,
    get cancelRequests() {
      return cancelRequests
    },
    get cancelReplies() {
      return cancelReplies
    },
    get stallsDone() {
      return stallsDone
    },
    get connections() {
      return connections
    },
    stallNextCancel(holdMs) {
      armed.push(holdMs)
    },
    cut: () => proxy.cut(),
    heal: () => proxy.heal(),
    close: () => {
      armed = []
      for (const t of timers) clearTimeout(t)
      timers.clear()
      return proxy.close()
    },
  }
}
