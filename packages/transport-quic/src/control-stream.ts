// The control stream confirms a handshake to both sides: the listener opens it once its trust check
// passed and sends [KIND_CONTROL, PROTOCOL_VERSION, ...its hello]; the dialer answers
// [CONTROL_ACK, ...its hello] (proof that its pinning accepted the listener). Its arrival tells the
// dialer it was trusted. The hello bytes (TransportOptions.hello) let the layer above exchange what
// it needs at connect time without a round trip of its own.
import { type Logger, raceSignal } from '@peer/discovery-core'
import { errorMessage, settleWithin } from '@peer/discovery-core/internal'
import { ACCESS_DENIED, type EngineStream } from './engine.js'
import {
  type CloseInfo,
  ConnectTimeoutError,
  HandshakeError,
  UntrustedPeerError,
  withCertificateHint,
} from './errors.js'
import { type ChunkReads, chunkReads, writeAndEnd } from './stream-io.js'
import type { HelloPeer, HelloSource } from './types.js'
import { CODE, KIND_CONTROL, MAX_HELLO_BYTES, PROTOCOL_VERSION } from './wire.js'

const CONTROL_ACK = 0x01

/** @internal What the control stream needs of its connection. */
export interface ControlHost {
  readonly remoteId: string
  readonly closed: Promise<CloseInfo>
  readonly logger: Logger
  /** Our hello bytes for this connection (`TransportOptions.hello`), if any: asked once. */
  localHello(): Uint8Array | undefined
  /** Records the peer's hello bytes (none when it sent none). */
  setRemoteHello(bytes: Uint8Array | undefined): void
  /** Opens a raw engine stream (no preamble). */
  openRaw(): Promise<EngineStream>
  /**
   * Dialer side, right before the acknowledgement: false when the dial was aborted (then none is
   * sent, so the listener never hands the connection out), else true after telling the dial's
   * caller (`DialOptions.onCommit`).
   */
  commit(): boolean
  close(reason: string, code?: number): Promise<CloseInfo>
}

/**
 * Listener side: tells the client it passed our trust check, then waits for the client's
 * acknowledgement. Resolves false (and closes) when the connection closes or times out first.
 */
export async function sendHello(host: ControlHost, timeoutMs: number): Promise<boolean> {
  try {
    const stream = await host.openRaw()
    const reads = chunkReads(stream)
    const local = host.localHello()
    await writeAndEnd(stream, withHello([KIND_CONTROL, PROTOCOL_VERSION], local))
    const ack = await settleWithin(
      Promise.race([readToEnd(reads, undefined, 1 + MAX_HELLO_BYTES), host.closed.then(() => undefined)]),
      timeoutMs,
    )
    reads.cancel()
    if (ack === undefined || ack.byteLength === 0 || ack[0] !== CONTROL_ACK) {
      void host.close('handshake not confirmed', CODE.PROTOCOL_ERROR)
      return false
    }
    // a dialer answers with its hello only to ours; one we did not ask for is ignored
    host.setRemoteHello(mutualHello(local, ack, 1))
    return true
  } catch (error) {
    host.logger.debug('control stream failed', { error: errorMessage(error) })
    void host.close('handshake not confirmed', CODE.PROTOCOL_ERROR)
    return false
  }
}

/**
 * Dialer side: waits for `hello` (the listener's control stream arrived); a close before it
 * becomes the dial's error (`UntrustedPeerError` for an access-denied close).
 */
export async function waitHello(
  host: ControlHost,
  hello: Promise<void>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  /** The dial's whole limit (`connectTimeoutMs`), named in the error: `timeoutMs` is what is left of it. */
  limitMs = timeoutMs,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    const outcome = await raceSignal(
      Promise.race([
        hello.then(() => undefined),
        host.closed.then((info) => info),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs)
        }),
      ]),
      signal,
    )
    if (outcome === undefined) return
    if (outcome === 'timeout') {
      throw new ConnectTimeoutError(`the server did not confirm the connection within ${limitMs} ms`)
    }
    const code = outcome.code
    if (code === ACCESS_DENIED) {
      throw new UntrustedPeerError(`server ${host.remoteId} does not trust this node`, undefined, {
        cause: outcome.error,
      })
    }
    throw new HandshakeError(
      `the server closed the connection during the handshake: ${withCertificateHint(outcome.reason)}`,
      code,
      {
        cause: outcome.error,
      },
    )
  } catch (error) {
    void host.close('handshake failed')
    throw error
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Dialer side: reads the listener's control stream (after its preamble byte) to its end, checks the
 * protocol version, records the listener's hello and acknowledges with ours (hellos are mutual: we
 * answer with ours only when both sides have one). True once confirmed; a bad stream is dropped
 * (`drop`) and, for a wrong version or an oversized body, the connection closed as a protocol error.
 */
export async function receiveHello(
  host: ControlHost,
  stream: EngineStream,
  reads: ChunkReads,
  leftover: Uint8Array | undefined,
  drop: (why: string) => void,
): Promise<boolean> {
  // a stalled stream is cut by the dial's timeout, which closes the connection
  const body = await readToEnd(reads, leftover, 1 + MAX_HELLO_BYTES)
  const version = body?.[0]
  if (body === undefined || version !== PROTOCOL_VERSION) {
    drop(`bad control stream (${body === undefined ? 'too long or broken' : `version ${version}`})`)
    void host.close(
      body === undefined ? 'bad control stream' : `unsupported peer protocol version ${version}`,
      CODE.PROTOCOL_ERROR,
    )
    return false
  }
  const local = host.localHello()
  const remote = mutualHello(local, body, 1)
  host.setRemoteHello(remote)
  reads.cancel()
  // the acknowledgement lets the listener hand the connection out: not for an aborted dial
  if (!host.commit()) {
    void host.close('dial aborted')
    return false
  }
  writeAndEnd(stream, withHello([CONTROL_ACK], remote === undefined ? undefined : local)).catch(() => {})
  return true
}

/**
 * Our hello for one connection: the bytes, or what a `HelloSource` gives for this peer. A source
 * that throws or answers anything but bytes within `MAX_HELLO_BYTES` is logged, and the connection
 * gets no hello (the layer above then falls back as it does with a peer that sends none).
 */
export function localHello(
  source: Uint8Array | HelloSource | undefined,
  peer: HelloPeer,
  logger: Logger,
): Uint8Array | undefined {
  if (typeof source !== 'function') return source
  let bytes: unknown
  try {
    bytes = source(peer)
  } catch (error) {
    logger.warn('the hello source threw; this connection gets no hello', { error: errorMessage(error) })
    return undefined
  }
  if (bytes === undefined) return undefined
  if (!(bytes instanceof Uint8Array) || bytes.byteLength > MAX_HELLO_BYTES) {
    logger.warn(`the hello source gave no bytes of at most ${MAX_HELLO_BYTES}; this connection gets no hello`)
    return undefined
  }
  return bytes.byteLength === 0 ? undefined : bytes
}

/**
 * The peer's hello in `body` after `skip` header bytes, copied (never a view of a larger read
 * chunk); none unless we have a hello of our own (hellos are mutual) and the peer sent one.
 */
export function mutualHello(
  local: Uint8Array | undefined,
  body: Uint8Array,
  skip: number,
): Uint8Array | undefined {
  return local !== undefined && body.byteLength > skip ? new Uint8Array(body.subarray(skip)) : undefined
}

/** `head` followed by the hello bytes, in one buffer (one write, one packet). */
function withHello(head: number[], hello: Uint8Array | undefined): Uint8Array {
  const out = new Uint8Array(head.length + (hello?.byteLength ?? 0))
  out.set(head)
  if (hello !== undefined) out.set(hello, head.length)
  return out
}

/**
 * Reads a control stream to its end: `first` (bytes already read) and the rest, at most `max`
 * bytes. Resolves undefined when the stream is longer or fails; the caller bounds the time.
 */
export async function readToEnd(
  reads: ChunkReads,
  first: Uint8Array | undefined,
  max: number,
): Promise<Uint8Array | undefined> {
  const parts: Uint8Array[] = first === undefined || first.byteLength === 0 ? [] : [first]
  let size = first?.byteLength ?? 0
  try {
    for (;;) {
      if (size > max) return undefined
      const chunk = await reads.next()
      if (chunk === null) break
      parts.push(chunk)
      size += chunk.byteLength
    }
  } catch {
    return undefined
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts, size)
}
