// The close notice (see KIND_CLOSE in wire.ts): how a close code and reason reach the peer on
// every engine. The closer sends the notice on a fresh stream and waits (briefly) for the peer to
// close in answer; then it closes natively. The receiver records the notice and closes at once.
import type { Logger } from '@peer/discovery-core'
import { errorMessage, replaceControlChars } from '@peer/discovery-core/internal'
import type { EngineStream } from './engine.js'
import { writeAndEnd } from './stream-io.js'
import { KIND_CLOSE } from './wire.js'

/** Longest reason carried (bytes). */
export const MAX_CLOSE_REASON_BYTES = 512
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The notice bytes, preamble included. */
export function encodeCloseNotice(code: number, reason: string): Uint8Array {
  const text = encoder.encode(reason).subarray(0, MAX_CLOSE_REASON_BYTES)
  const out = Buffer.allocUnsafe(5 + text.byteLength)
  out[0] = KIND_CLOSE
  out.writeUInt32BE(code >>> 0, 1)
  out.set(text, 5)
  return out
}

/**
 * Parses a notice body (after the preamble byte); undefined when it is too short. The reason is the
 * first {@link MAX_CLOSE_REASON_BYTES} bytes after the code as UTF-8, with invalid sequences and
 * control characters (a peer's newlines or terminal escapes) replaced by U+FFFD.
 */
export function decodeCloseNotice(body: Uint8Array): { code: number; reason: string } | undefined {
  if (body.byteLength < 4) return undefined
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  const reason = replaceControlChars(decoder.decode(b.subarray(4, 4 + MAX_CLOSE_REASON_BYTES)), '\ufffd')
  return { code: b.readUInt32BE(0), reason }
}

/**
 * How long a closer waits for the peer's answer (its close) before closing anyway: 8 RTTs, at least
 * 1.5 s (a busy peer must get to read the notice: closing first discards it), at most 5 s. A live
 * peer answers within about one RTT; only a dead or stuck one makes a close wait this long.
 */
export function noticeWaitMs(rttMs: number | undefined): number {
  return Math.min(5000, Math.max(1500, 8 * (rttMs ?? 0)))
}

/**
 * How long a notified side waits without new bytes for the closer's last ones before it closes
 * (when its read sides do not all end first): 50 ms, or 2 RTTs when longer; at most
 * {@link PEER_DRAIN_MAX_MS} in all. Well under what the closer waits for the answer.
 */
export function peerQuietMs(rttMs: number | undefined): number {
  return Math.max(50, 2 * (rttMs ?? 0))
}

/** The longest a notified side waits for the closer's last bytes before it closes. */
export const PEER_DRAIN_MAX_MS = 1000

/**
 * Where a notice goes: `send` writes the bytes and finishes the stream (errors are swallowed),
 * `reset` gives the stream up. An engine can hand its native stream here, without web streams.
 */
export interface NoticeStream {
  send(bytes: Uint8Array): void
  reset(code: number): void
}

/** An engine stream as a {@link NoticeStream} (written and ended by `writeAndEnd`). */
export function noticeStreamOf(stream: EngineStream): NoticeStream {
  return {
    send(bytes) {
      writeAndEnd(stream, bytes).catch(() => {})
    },
    reset: (code) => stream.reset(code),
  }
}

/**
 * Sends the notice on `open()`'s stream and waits until `closed` settles or `waitMs` pass.
 * Never throws: a notice that cannot be sent only means the peer learns less.
 */
export async function sendCloseNotice(
  open: () => NoticeStream | Promise<NoticeStream> | undefined,
  closed: Promise<unknown>,
  code: number,
  reason: string,
  waitMs: number,
  logger: Logger,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), waitMs)
  })
  try {
    // opening may wait for stream credit (quinn): bounded by the same wait
    const opening = Promise.resolve().then(open)
    const stream = await Promise.race([opening, expired])
    if (stream === undefined) {
      opening.then((late) => late?.reset(0)).catch(() => {})
      return
    }
    stream.send(encodeCloseNotice(code, reason))
    await Promise.race([closed, expired])
  } catch (error) {
    logger.debug('close notice not sent', { error: errorMessage(error) })
  } finally {
    clearTimeout(timer)
  }
}
