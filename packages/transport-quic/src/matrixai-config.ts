// Configuration of the @matrixai/quic engine: its options from the tuning and the libp2p
// certificate, stream error codes, the libp2p certificate check of a peer's chain, UDP buffer
// sizes, the bridge from its logger to ours and the one-time hot-path patch.
import type { Socket } from 'node:dgram'
import Logger, { Handler, LogLevel, type LogRecord } from '@matrixai/logger'
import type { Logger as PeerLogger } from '@peer/discovery-core'
import { errorMessage, MAX_TIMER_MS } from '@peer/discovery-core/internal'
import { ALPN, type EngineContext } from './engine.js'
import { applyEnginePatch } from './engine-patch.js'
import { StreamResetError } from './errors.js'
import { type Libp2pCertificate, verifyLibp2pCertificate } from './libp2p-tls.js'

/** TLS alert codes as QUIC crypto errors (0x100 + alert). */
export const BAD_CERTIFICATE = 0x100 + 42 // 298
export const CERTIFICATE_REQUIRED = 0x100 + 116 // 372

// ---------------------------------------------------------------------------------------------
// logging bridge

class BridgeHandler extends Handler {
  constructor(private readonly target: PeerLogger) {
    super()
  }
  override handle(record: LogRecord): void {
    try {
      const message = `${record.keys}: ${record.msg ?? ''}`
      if (record.level >= LogLevel.ERROR) this.target.error(message)
      else if (record.level >= LogLevel.WARN) this.target.warn(message)
      else if (record.level >= LogLevel.INFO) this.target.info(message)
      else this.target.debug(message)
    } catch {
      // a logger must never break the engine
    }
  }
  emit(): void {}
}

const LEVELS = {
  silent: LogLevel.SILENT,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
} as const

let patchReported = false

/** Applies the engine's hot-path fixes (once) before the first server or client is made. */
export function prepareEngine(logger: PeerLogger): void {
  const state = applyEnginePatch()
  if (patchReported) return
  patchReported = true
  if (state.applied) logger.debug('QUIC engine hot-path patch applied')
  else logger.info('QUIC engine runs unpatched (slower)', { reason: state.reason })
}

export function engineLogger(ctx: EngineContext, name: string): Logger {
  return new Logger(name, LEVELS[ctx.engineLogLevel], [new BridgeHandler(ctx.logger)])
}
// ---------------------------------------------------------------------------------------------
// configuration

export function engineConfig(ctx: EngineContext, cert: Libp2pCertificate) {
  const t = ctx.tuning
  return {
    key: cert.keyPem,
    cert: cert.certPem,
    verifyPeer: true,
    applicationProtos: [ALPN],
    // "never" as the longest Node.js timer: with 0, quiche adopts the peer's idle timeout, whatever
    // it is (up to 2^62 ms), and the engine puts it in a timer, which Node fires after 1 ms when it
    // is longer, every time: a busy loop. quiche uses the smaller of two non-zero values.
    maxIdleTimeout: t.maxIdleTimeoutMs > 0 ? t.maxIdleTimeoutMs : MAX_TIMER_MS,
    ...(t.keepAliveIntervalMs > 0 ? { keepAliveIntervalTime: t.keepAliveIntervalMs } : {}),
    maxSendUdpPayloadSize: t.maxSendUdpPayloadSize,
    maxRecvUdpPayloadSize: t.maxRecvUdpPayloadSize,
    readableChunkSize: t.readChunkSize,
    initialMaxData: t.initialMaxData,
    initialMaxStreamDataBidiLocal: t.initialMaxStreamData,
    initialMaxStreamDataBidiRemote: t.initialMaxStreamData,
    initialMaxStreamDataUni: t.initialMaxStreamData,
    initialMaxStreamsBidi: t.maxStreams,
    initialMaxStreamsUni: 0,
    maxConnectionWindow: t.maxConnectionWindow,
    maxStreamWindow: t.maxStreamWindow,
  }
}

/** Stream error codes on the wire <-> reasons. */
export const reasonToCode = (_type: 'read' | 'write', reason?: unknown): number => {
  if (reason instanceof StreamResetError) return reason.code
  return 1
}
export const codeToReason = (type: 'read' | 'write', code: number): StreamResetError =>
  new StreamResetError(`peer ${type === 'read' ? 'reset' : 'stopped'} the stream (code ${code})`, code)

export function setSocketBuffers(owner: unknown, size: number, logger: PeerLogger): void {
  if (size <= 0) return
  try {
    const socket = (owner as { socket?: { socket?: Socket } }).socket?.socket
    socket?.setRecvBufferSize(size)
    socket?.setSendBufferSize(size)
  } catch (error) {
    logger.debug('cannot set UDP socket buffer sizes', { error: errorMessage(error) })
  }
}

/** The node id of a verified libp2p certificate chain; undefined when it does not verify. */
export function leafId(certs: readonly Uint8Array[], onError?: (reason: string) => void): string | undefined {
  const leaf = certs[0]
  if (leaf === undefined) return undefined
  try {
    return verifyLibp2pCertificate(leaf)
  } catch (error) {
    onError?.(errorMessage(error))
    return undefined
  }
}
