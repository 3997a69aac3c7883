// Run-time fixes for @matrixai/quic 2.0.9, applied to its classes when the first server or client
// starts: `QUICConnection`'s receive lock and send buffers, lent reads for `QUICStream` (used by
// message channels), and `QUICServer`'s answer to an address token it did not mint. The first two
// used to live in a pnpm patch, which npm users never got. Only applied when `dist/QUICConnection.js`,
// `dist/QUICStream.js` and `dist/QUICServer.js` are byte-identical to the reviewed 2.0.9 files: any
// other engine build runs unpatched (slower; its server ignores clients that offer a foreign token).
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { startStop } from '@matrixai/async-init'
import { errors, events, native, QUICConnection, QUICServer, QUICStream, utils } from '@matrixai/quic'

/** Engine version the patch was written against (`@matrixai/quic` is pinned to it). */
export const PATCHED_ENGINE_VERSION = '2.0.9'
/** SHA-256 of the unmodified files of that version that the patch changes. */
export const PATCHED_ENGINE_SHA256 = {
  'QUICConnection.js': '203112919aafa3671b6f8694bcc3d28ba7230d36c957239445a02592b0d41235',
  'QUICStream.js': 'a3d4bbd5489b235d19dc7d82a5a7c0aa6ec193c238f8c4e123219342bfbb6602',
  'QUICServer.js': '8ac8e90dfaf8f405f31424efc6e1550f6d4cf1b1ff37ae79baf962b50a2a7d02',
} as const
type EngineFile = keyof typeof PATCHED_ENGINE_SHA256

/** Whether the engine runs with the fixes, and why not. */
export type EnginePatchState =
  | { readonly applied: true }
  | { readonly applied: false; readonly reason: string }

/** Copies of `@peer/transport-quic` in one process share the mark, so the class is patched once. */
const MARK = Symbol.for('@peer/transport-quic.enginePatch')
/** Datagrams up to this size are copied out of the scratch buffer; larger ones take it over. */
const COPY_LIMIT = 16384

/**
 * Serialises `recv` like the engine's `Lock`, without it. `Lock.withF` builds a timed-cancellable
 * acquisition (an AbortController, a Timer and an error with a captured stack trace) for every
 * received datagram: ~14% of a bulk transfer's CPU. This is the same FIFO exclusion: run now when
 * free, else wait for the turn, which the releaser hands to the next waiter.
 */
export class RecvTurn {
  #busy = false
  readonly #waiting: Array<() => void> = []

  async withF<T>(body: () => Promise<T>): Promise<T> {
    if (this.#busy) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    else this.#busy = true
    try {
      return await body()
    } finally {
      const next = this.#waiting.shift()
      if (next === undefined) this.#busy = false
      else next()
    }
  }
}

/** The members of a `QUICConnection` that `send` uses; they are internal in the typings. */
interface ConnectionInternals {
  recvLock: unknown
  conn: {
    send(buffer: Uint8Array): [number, { to: { host: string; port: number } }] | null
    isDraining(): boolean
    isClosed(): boolean
    isEstablished(): boolean
    peerCertChain(): Uint8Array[] | null
    close(app: boolean, code: number, reason: Uint8Array): void
    localError(): unknown
    peerError(): { isApp: boolean; errorCode: number } | null
  }
  config: {
    maxSendUdpPayloadSize: number
    verifyPeer: boolean
    verifyCallback?: (certs: Uint8Array[] | null, ca: unknown) => Promise<number | undefined>
  }
  caDERs: unknown
  sendId: string
  secureEstablished: boolean
  setConnTimeoutTimer(): void
  resolveSecureEstablishedP(): void
  processStreams(): void
  dispatchEvent(event: Event): boolean
  [key: symbol]: unknown
}

let scratch: Buffer | undefined

/**
 * One buffer per process for quiche to write packets into. The engine allocated a fresh
 * `maxSendUdpPayloadSize` buffer (65,000 B on loopback) per packet and once more for the final
 * "nothing left" call of every `send`. Sharing it is safe: `conn.send` is synchronous and the
 * packet leaves the buffer (see `takePacket`) before anything else runs.
 */
function scratchBuffer(size: number): Buffer {
  if (scratch === undefined || scratch.byteLength < size) scratch = Buffer.allocUnsafe(size)
  // exactly `size` bytes: quiche sizes packets by the buffer it gets
  return scratch.subarray(0, size)
}

/** The datagram must stay intact until `dgram.send` is done with it, on a later tick. */
function takePacket(buffer: Buffer, length: number): Buffer {
  if (length <= COPY_LIMIT) {
    const packet = Buffer.allocUnsafe(length) // from Node's pool below 4 KiB
    buffer.copy(packet, 0, 0, length)
    return packet
  }
  scratch = undefined // a large packet takes the buffer over; the next send allocates another
  return buffer.subarray(0, length)
}

const quiche = native.quiche as unknown as { CRYPTO_ERROR_START: number; CRYPTO_ERROR_STOP: number }

/**
 * `QUICConnection.prototype.send` of 2.0.9, unchanged except for the two buffer lines marked
 * `[peer]`. The engine's own `ready` guard is put back around it by `apply`.
 */
async function send(this: ConnectionInternals): Promise<void> {
  let sendLength: number
  let sendInfo: { to: { host: string; port: number } }
  while (true) {
    const sendBuffer = scratchBuffer(this.config.maxSendUdpPayloadSize) // [peer]
    try {
      const result = this.conn.send(sendBuffer)
      if (result === null) break
      ;[sendLength, sendInfo] = result
    } catch (e) {
      const e_ = new errors.ErrorQUICConnectionInternal(
        'Failed connection send with unknown internal error',
        {
          cause: e,
        },
      )
      this.dispatchEvent(new events.EventQUICConnectionError({ detail: e_ }))
      throw e_
    }
    this.dispatchEvent(
      new events.EventQUICConnectionSend({
        detail: {
          id: this.sendId,
          msg: takePacket(sendBuffer, sendLength), // [peer]
          port: sendInfo.to.port,
          address: sendInfo.to.host,
        },
      }),
    )
  }
  this.setConnTimeoutTimer()
  if (
    !this.secureEstablished &&
    !this.conn.isDraining() &&
    !this.conn.isClosed() &&
    this.conn.isEstablished() &&
    this.config.verifyPeer &&
    this.config.verifyCallback != null
  ) {
    const peerCertsChain = this.conn.peerCertChain()
    const cryptoError = await this.config.verifyCallback(peerCertsChain, this.caDERs)
    if (cryptoError != null) {
      this.conn.close(false, cryptoError, Buffer.from(''))
      const localError = this.conn.localError()
      const e_ = new errors.ErrorQUICConnectionLocalTLS('Failed connection due to custom TLS verification', {
        data: localError as never,
      })
      this.dispatchEvent(new events.EventQUICConnectionError({ detail: e_ }))
      return
    }
    this.resolveSecureEstablishedP()
    this.processStreams()
  }
  if (this[startStop.status] !== 'stopping') {
    const peerError = this.conn.peerError()
    if (peerError != null) {
      const message = `Peer closed with ${peerError.isApp ? 'application' : 'transport'} code ${peerError.errorCode}`
      const tls =
        peerError.errorCode >= quiche.CRYPTO_ERROR_START && peerError.errorCode <= quiche.CRYPTO_ERROR_STOP
      const detail = tls
        ? new errors.ErrorQUICConnectionPeerTLS(message, { data: peerError as never })
        : new errors.ErrorQUICConnectionPeer(message, { data: peerError as never })
      this.dispatchEvent(new events.EventQUICConnectionError({ detail }))
    }
  }
}

/** Why the installed engine cannot take the patch, or undefined when it can. */
export function engineMismatch(version: string, sha256: Record<EngineFile, string>): string | undefined {
  if (version !== PATCHED_ENGINE_VERSION) {
    return `@matrixai/quic is ${version}, the patch is for ${PATCHED_ENGINE_VERSION}`
  }
  for (const file of Object.keys(PATCHED_ENGINE_SHA256) as EngineFile[]) {
    if (sha256[file] !== PATCHED_ENGINE_SHA256[file])
      return `@matrixai/quic dist/${file} differs from the release`
  }
  return undefined
}

function installedEngine(): { version: string; sha256: Record<EngineFile, string> } {
  const require = createRequire(import.meta.url)
  const manifest = require.resolve('@matrixai/quic/package.json')
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }
  const hash = (file: EngineFile) =>
    createHash('sha256')
      .update(readFileSync(join(dirname(manifest), 'dist', file)))
      .digest('hex')
  return {
    version,
    sha256: {
      'QUICConnection.js': hash('QUICConnection.js'),
      'QUICStream.js': hash('QUICStream.js'),
      'QUICServer.js': hash('QUICServer.js'),
    },
  }
}

// ---------------------------------------------------------------------------------------------
// lent reads: one copy per received payload byte on message-channel streams

const LEND = Symbol('peer.lentReads')

/** A stream's lending state: whether its reader still holds the last lent view. */
interface Lending {
  busy: boolean
  wake: (() => void) | undefined
}

/** The members of a `QUICStream` that `readablePull` uses; they are internal in the typings. */
interface StreamInternals {
  [LEND]?: Lending
  streamId: number
  readableChunk: Buffer
  readableController: ReadableStreamDefaultController<Uint8Array>
  resolveReadableP?: () => void
  rejectReadableP?: (e: unknown) => void
  connection: {
    conn: {
      streamReadable(id: number): boolean
      streamRecv(id: number, buffer: Uint8Array): [number, boolean] | null
    }
  }
  codeToReason(type: 'read', code: number): unknown
  dispatchEvent(event: Event): boolean
}

let originalPull: ((this: StreamInternals) => Promise<void>) | undefined

/**
 * `QUICStream.prototype.readablePull` of 2.0.9 for streams that lend their reads, unchanged but for
 * the lines marked `[peer]`. The engine copies every read out of its read buffer
 * (`Buffer.from(readableChunk.subarray(...))`); a message channel then copies every frame that
 * spans two reads again. A lending stream hands out a view of the read buffer instead and reads
 * again only once the channel has released it (after copying the frames out).
 */
async function readablePullLent(this: StreamInternals): Promise<void> {
  const lending = this[LEND]
  if (lending === undefined) return (originalPull as (this: StreamInternals) => Promise<void>).call(this)
  // [peer] the reader still uses the buffer lent last time: wait until it is released
  if (lending.busy) {
    await new Promise<void>((resolve) => {
      lending.wake = resolve
    })
  }
  if (!this.connection.conn.streamReadable(this.streamId)) {
    const { p: readableP, resolveP, rejectP } = utils.promise<void>()
    void readableP.catch(() => {})
    this.resolveReadableP = resolveP
    this.rejectReadableP = rejectP
    try {
      await readableP
    } catch {
      return
    }
  }
  let result: [number, boolean] | null
  try {
    result = this.connection.conn.streamRecv(this.streamId, this.readableChunk)
  } catch (e) {
    const code = utils.isStreamReset(e as Error)
    if (code !== false) {
      const reason = this.codeToReason('read', code)
      const e_ = new errors.ErrorQUICStreamPeerRead('Peer reset the readable stream', {
        data: { code },
        cause: reason,
      })
      this.readableController.error(reason)
      this.dispatchEvent(new events.EventQUICStreamError({ detail: e_ }))
      return
    }
    const e_ = new errors.ErrorQUICStreamInternal('Failed `streamRecv` on the readable stream', { cause: e })
    this.readableController.error(e_)
    this.dispatchEvent(new events.EventQUICStreamError({ detail: e_ }))
    throw e_
  }
  if (result === null) {
    const e = new errors.ErrorQUICStreamInternal(
      'Failed `streamRecv` on the readable stream because it is not readable',
    )
    this.readableController.error(e)
    this.dispatchEvent(new events.EventQUICStreamError({ detail: e }))
    throw e
  }
  const [recvLength, fin] = result
  if (recvLength > 0) {
    lending.busy = true // [peer]
    this.readableController.enqueue(this.readableChunk.subarray(0, recvLength)) // [peer] a view, no copy
  }
  if (fin) {
    this.readableController.close()
    this.dispatchEvent(new events.EventQUICStreamCloseRead())
  }
  this.dispatchEvent(new events.EventQUICStreamSend())
}

let lendingAvailable = false

/**
 * Makes `stream` hand out views of its read buffer (see `readablePullLent`). Returns the release
 * function the reader must call once it is done with each chunk it read (before reading again),
 * or undefined when the patch is not active (reads stay copies). Chunks read before this call,
 * or by a pull already under way, are still copies; releasing after those is harmless.
 */
export function lendReads(stream: unknown): (() => void) | undefined {
  if (!lendingAvailable) return undefined
  const s = stream as StreamInternals
  const lending: Lending = { busy: false, wake: undefined }
  s[LEND] = lending
  return () => {
    lending.busy = false
    const wake = lending.wake
    lending.wake = undefined
    wake?.()
  }
}

// ---------------------------------------------------------------------------------------------
// address tokens this server did not mint

/** The members of a `QUICServer` that `acceptConnection` uses; they are internal in the typings. */
interface ServerInternals {
  validateToken(token: Buffer, host: string): Promise<unknown>
}
/** The fields of a quiche `Header` that `acceptConnection` reads (getters of a native object). */
interface InitialHeader {
  readonly ty: number
  readonly version: number
  readonly dcid: Uint8Array
  readonly scid: Uint8Array
  readonly token: Uint8Array | null
}
type AcceptConnection = (
  this: ServerInternals,
  remoteInfo: { host: string; port: number },
  header: InitialHeader,
  ...rest: unknown[]
) => Promise<unknown>

/**
 * `QUICServer.acceptConnection` drops an Initial whose token it cannot validate, so a client that
 * offers a token from another server (quinn keeps the NEW_TOKEN a quinn server sent, and one
 * client endpoint dials many servers) never gets an answer. RFC 9000, 8.1.3: a server SHOULD
 * proceed as if the client had no token. This hands the engine such an Initial without the token:
 * it answers with a Retry carrying one of its own, as for any first Initial.
 */
function acceptForeignTokens(original: AcceptConnection): AcceptConnection {
  return async function acceptConnection(this: ServerInternals, remoteInfo, header, ...rest) {
    // only an Initial carries a token (other packets for no connection have none: null)
    if (header.token != null && header.token.byteLength > 0) {
      const valid = await this.validateToken(Buffer.from(header.token), remoteInfo.host)
      if (valid == null) {
        const { ty, version, dcid, scid } = header
        header = { ty, version, dcid, scid, token: new Uint8Array(0) }
      }
    }
    return original.call(this, remoteInfo, header, ...rest)
  }
}

function apply(): EnginePatchState {
  const proto = QUICConnection.prototype as unknown as Record<PropertyKey, unknown>
  if (proto[MARK] === true) return { applied: true }
  let mismatch: string | undefined
  try {
    const engine = installedEngine()
    mismatch = engineMismatch(engine.version, engine.sha256)
  } catch (error) {
    mismatch = `cannot read the engine's files: ${error instanceof Error ? error.message : String(error)}`
  }
  if (mismatch !== undefined) return { applied: false, reason: mismatch }
  // The `ready` decorator must come from the engine's own copy of async-init (same symbols).
  if (!(startStop.running in proto)) {
    return { applied: false, reason: '@matrixai/async-init is not the copy @matrixai/quic uses' }
  }

  const recv = proto.recv as (this: ConnectionInternals, ...args: unknown[]) => Promise<void>
  proto.recv = function recvInTurn(this: ConnectionInternals, ...args: unknown[]): Promise<void> {
    // `recvLock` is only used by `recv`; swap it before the first datagram
    if (!(this.recvLock instanceof RecvTurn)) this.recvLock = new RecvTurn()
    return recv.apply(this, args)
  }
  const ready = startStop.ready(new errors.ErrorQUICConnectionNotRunning(), false, ['starting', 'stopping'])
  const descriptor = { value: send, writable: true, enumerable: false, configurable: true }
  Object.defineProperty(proto, 'send', ready(proto, 'send', descriptor) ?? descriptor)
  Object.defineProperty(proto, MARK, { value: true })

  // `readablePull` is bound per stream at construction, so streams made from now on get this one
  const streamProto = QUICStream.prototype as unknown as Record<string, unknown>
  originalPull = streamProto.readablePull as typeof originalPull
  streamProto.readablePull = readablePullLent
  lendingAvailable = true

  const serverProto = QUICServer.prototype as unknown as Record<string, unknown>
  serverProto.acceptConnection = acceptForeignTokens(serverProto.acceptConnection as AcceptConnection)
  return { applied: true }
}

/** Set to `off` to run the engine exactly as published (for comparisons, or if a fix is suspected). */
export const ENGINE_PATCH_ENV = 'PEER_QUIC_ENGINE_PATCH'

let state: EnginePatchState | undefined

/**
 * Applies the fixes once per process (idempotent) and says whether they are active. The first
 * call decides: later calls return the same state whatever `env` says.
 */
export function applyEnginePatch(env: NodeJS.ProcessEnv = process.env): EnginePatchState {
  state ??= env[ENGINE_PATCH_ENV] === 'off' ? { applied: false, reason: `${ENGINE_PATCH_ENV}=off` } : apply()
  return state
}
