/**
 * Write chunks of message channels on QUIC streams, recycled process-wide. The engine copies a
 * chunk into quiche before the stream write resolves, so the buffer is free again at that point;
 * without recycling every 64 KiB chunk was a fresh external allocation, and V8's garbage collector
 * answers a high external allocation rate with frequent full collections (after an idle spell it
 * ran 15 times as many; bulk transfers then cost 15-20% more CPU than the raw engine).
 * Bounded: a few buffers per size, sizes up to 1 MiB, so idle channels hold nothing.
 * @internal
 */
export class ChunkPool {
  readonly #free = new Map<number, Buffer[]>()

  constructor(
    readonly perSize = 8,
    readonly maxSize = 1024 * 1024,
  ) {}

  /** A buffer of exactly `size` bytes (contents undefined): recycled when one is free. */
  take(size: number): Buffer {
    return this.#free.get(size)?.pop() ?? Buffer.allocUnsafe(size)
  }

  /** Returns a buffer nothing refers to any more (a whole buffer from `take`, never a slice). */
  give(buffer: Buffer): void {
    const size = buffer.byteLength
    if (size > this.maxSize) return
    let list = this.#free.get(size)
    if (list === undefined) {
      if (this.#free.size >= 16) return // a bounded number of size classes
      list = []
      this.#free.set(size, list)
    }
    if (list.length < this.perSize) list.push(buffer)
  }
}

/** The pool shared by all channels on QUIC streams in this process. */
export const chunkPool = new ChunkPool()
