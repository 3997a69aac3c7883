/**
 * Buffers recycled by exact size. Here: the write chunks of message channels on QUIC streams,
 * process-wide (`@peer/node` keeps its large envelopes in a pool of its own). The engine copies a
 * chunk into quiche before the stream write resolves, so the buffer is free again at that point;
 * without recycling every 64 KiB chunk was a fresh external allocation, and V8's garbage collector
 * answers a high external allocation rate with frequent full collections (after an idle spell it
 * ran 15 times as many; bulk transfers then cost 15-20% more CPU than the raw engine).
 * Bounded: a few buffers per size, a few sizes, 4 MiB in all; channels themselves hold nothing.
 * @internal
 */
export class ChunkPool {
  readonly #free = new Map<number, Buffer[]>()
  #bytes = 0

  constructor(
    readonly perSize = 8,
    readonly maxBytes = 4 * 1024 * 1024,
    readonly maxSizes = 16,
  ) {}

  /** Bytes held for reuse. */
  get bytes(): number {
    return this.#bytes
  }

  /** A buffer of exactly `size` bytes (contents undefined): recycled when one is free. */
  take(size: number): Buffer {
    const recycled = this.#free.get(size)?.pop()
    if (recycled === undefined) return Buffer.allocUnsafe(size)
    this.#bytes -= size
    return recycled
  }

  /** Returns a buffer nothing refers to any more (a whole buffer from `take`, never a slice). */
  give(buffer: Buffer): void {
    const size = buffer.byteLength
    if (this.#bytes + size > this.maxBytes) return
    let list = this.#free.get(size)
    if (list === undefined) {
      if (this.#free.size >= this.maxSizes) return
      list = []
      this.#free.set(size, list)
    }
    if (list.length >= this.perSize) return
    list.push(buffer)
    this.#bytes += size
  }
}

/** The pool shared by all channels on QUIC streams in this process. */
export const chunkPool = new ChunkPool()
