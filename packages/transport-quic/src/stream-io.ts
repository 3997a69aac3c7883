// Short exchanges read and written whole (the control stream, close notices): through the engine's
// own calls (`EngineStream.direct`) when it has them, so the stream never builds its web streams
// (about a fifth of the JavaScript a quinn connection's setup cost), else through its web streams.
import type { EngineStream } from './engine.js'

/** @internal The reads of one stream, chunk by chunk. */
export interface ChunkReads {
  /** The next chunk, or `null` at the end; rejects like a read of the stream's readable. */
  next(): Promise<Uint8Array | null>
  /** Stops reading (cancels the web-stream reader, if one was made; the engine's reads need nothing). */
  cancel(): void
}

/**
 * @internal The reads of `stream`: the engine's own, or `reader` (the one already reading it, or
 * one made on first use when the engine has no reads of its own). Once a stream was read one way,
 * pass the same again: chunks taken by one are not seen by the other.
 */
export function chunkReads(
  stream: EngineStream,
  reader?: ReadableStreamDefaultReader<Uint8Array>,
): ChunkReads {
  const direct = stream.direct
  if (direct !== undefined && reader === undefined) return { next: () => direct.read(), cancel: () => {} }
  let r = reader
  return {
    async next() {
      if (r === undefined) {
        r = stream.readable.getReader()
        r.closed.catch(() => {})
      }
      const chunk = await r.read()
      return chunk.done ? null : chunk.value
    },
    cancel() {
      void r?.cancel().catch(() => {})
    },
  }
}

/**
 * @internal Writes `bytes` on `stream` and ends its write side. Resolves once the bytes were handed
 * to the engine; rejects like the write. Ending the write side afterwards never throws.
 */
export async function writeAndEnd(stream: EngineStream, bytes: Uint8Array): Promise<void> {
  const direct = stream.direct
  if (direct !== undefined) {
    await direct.write(bytes)
    void direct.finish().catch(() => {})
    return
  }
  const writer = stream.writable.getWriter()
  writer.closed.catch(() => {})
  await writer.write(bytes)
  void writer.close().catch(() => {})
}
