// The control stream confirms a handshake to both sides: the listener opens it once its trust check
// passed and sends [KIND_CONTROL, PROTOCOL_VERSION]; the dialer answers CONTROL_ACK (proof that its
// pinning accepted the listener). Its arrival tells the dialer it was trusted.
import { type Logger, raceSignal } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import { ACCESS_DENIED, type EngineStream } from './engine.js'
import { type CloseInfo, HandshakeError, UntrustedPeerError } from './errors.js'
import { CODE, KIND_CONTROL, PROTOCOL_VERSION } from './wire.js'

const CONTROL_HELLO = Uint8Array.of(KIND_CONTROL, PROTOCOL_VERSION)
const CONTROL_ACK = 0x01

/** @internal What the control stream needs of its connection. */
export interface ControlHost {
  readonly remoteId: string
  readonly closed: Promise<CloseInfo>
  readonly logger: Logger
  /** Opens a raw engine stream (no preamble). */
  openRaw(): Promise<EngineStream>
  close(reason: string, code?: number): Promise<CloseInfo>
}

/**
 * Listener side: tells the client it passed our trust check, then waits for the client's
 * acknowledgement. Resolves false (and closes) when the connection closes or times out first.
 */
export async function sendHello(host: ControlHost, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  try {
    const stream = await host.openRaw()
    const writer = stream.writable.getWriter()
    writer.closed.catch(() => {})
    const reader = stream.readable.getReader()
    reader.closed.catch(() => {})
    await writer.write(CONTROL_HELLO)
    void writer.close().catch(() => {})
    const ack = await Promise.race([
      reader.read(),
      host.closed.then(() => undefined),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs)
      }),
    ])
    void reader.cancel().catch(() => {})
    if (ack === undefined || ack.done || ack.value[0] !== CONTROL_ACK) {
      void host.close('handshake not confirmed', CODE.PROTOCOL_ERROR)
      return false
    }
    return true
  } catch (error) {
    host.logger.debug('control stream failed', { error: errorMessage(error) })
    void host.close('handshake not confirmed', CODE.PROTOCOL_ERROR)
    return false
  } finally {
    clearTimeout(timer)
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
      throw new HandshakeError(`the server did not confirm the connection within ${timeoutMs} ms`)
    }
    const code = outcome.code
    if (code === ACCESS_DENIED) {
      throw new UntrustedPeerError(`server ${host.remoteId} does not trust this node`, undefined, {
        cause: outcome.error,
      })
    }
    throw new HandshakeError(
      `the server closed the connection during the handshake: ${outcome.reason}`,
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

/** Dialer side: acknowledges the listener's control stream (after its version checked out). */
export function answerHello(stream: EngineStream, reader: ReadableStreamDefaultReader<Uint8Array>): void {
  void reader.cancel().catch(() => {})
  const writer = stream.writable.getWriter()
  writer.closed.catch(() => {})
  void writer
    .write(Uint8Array.of(CONTROL_ACK))
    .then(() => writer.close())
    .catch(() => {})
}
