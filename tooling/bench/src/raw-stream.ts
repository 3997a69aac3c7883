// The two "raw" stacks (an engine used without the transport's layers) behind one small interface,
// and the server that both serve: the first byte of a stream picks the mode.
export interface RawStream {
  write(b: Uint8Array): Promise<void>
  /** The next chunk, or undefined at the end of the stream. */
  read(): Promise<Uint8Array | undefined>
  /** Ends our side of the stream. */
  finish(): Promise<void>
}

export interface RawConn {
  open(): Promise<RawStream>
  close(): Promise<void>
}

export const MODE_SINK = 0x53 // 'S'
export const MODE_ECHO = 0x45 // 'E'
export const MODE_FRAMES = 0x46 // 'F': walk u32 length-prefixed frames and count them

/** Counts u32 length-prefixed frames across chunk boundaries, without copying or delivering them. */
export class FrameCounter {
  count = 0
  #body = 0
  #header = 0
  #headerFill = 0
  push(chunk: Uint8Array): void {
    let at = 0
    const end = chunk.byteLength
    while (at < end) {
      if (this.#body > 0) {
        const take = Math.min(this.#body, end - at)
        this.#body -= take
        at += take
        if (this.#body === 0) this.count++
        continue
      }
      this.#header = this.#header * 256 + (chunk[at] as number)
      at++
      if (++this.#headerFill === 4) {
        this.#body = this.#header
        this.#header = 0
        this.#headerFill = 0
        if (this.#body === 0) this.count++
      }
    }
  }
}

export function report(bytes: number, count: number): Uint8Array {
  const b = Buffer.alloc(16)
  b.writeDoubleBE(bytes, 0)
  b.writeDoubleBE(count, 8)
  return b
}

export function readReport(b: Uint8Array): { bytes: number; count: number } {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  return { bytes: buf.readDoubleBE(0), count: buf.readDoubleBE(8) }
}

/** A raw stream server: first byte picks the mode (sink: count bytes / frames; echo: echo chunks). */
export async function serveRaw(stream: RawStream): Promise<void> {
  try {
    const first = await stream.read()
    if (first === undefined) return
    const mode = first[0]
    let bytes = first.byteLength - 1
    if (mode === MODE_SINK || mode === MODE_FRAMES) {
      const frames = new FrameCounter()
      if (mode === MODE_FRAMES) frames.push(first.subarray(1))
      for (;;) {
        const r = await stream.read()
        if (r === undefined) break
        bytes += r.byteLength
        if (mode === MODE_FRAMES) frames.push(r)
      }
      await stream.write(report(bytes, frames.count))
    } else {
      if (bytes > 0) await stream.write(first.subarray(1))
      await echoRaw(stream)
      return
    }
    await stream.finish()
  } catch {
    // connection closed under us: fine for a benchmark server
  }
}

/** Echoes every chunk of `stream` until its end, then ends ours (never throws). */
export async function echoRaw(stream: RawStream): Promise<void> {
  try {
    for (;;) {
      const r = await stream.read()
      if (r === undefined) break
      await stream.write(r)
    }
    await stream.finish()
  } catch {
    // connection closed under us: fine for a benchmark server
  }
}

/** A new raw stream, after writing the server's mode byte. */
export async function rawStream(conn: RawConn, mode: number): Promise<RawStream> {
  const s = await conn.open()
  await s.write(Uint8Array.of(mode))
  return s
}
