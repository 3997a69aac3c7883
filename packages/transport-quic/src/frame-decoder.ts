import { FrameTooLargeError, MalformedFrameError } from './errors.js'

/** From this size on, a message read from a lent chunk gets its own copy; smaller ones share one. */
const SMALL_FRAME = 4096
/**
 * First buffer for a frame that spans lent chunks. The buffer then doubles as bytes arrive, so a
 * peer announcing a large frame gets memory for what it sent, not for what it announced (chunks
 * of our own are kept as they are until the frame is complete: the same bound).
 */
const FIRST_PARTIAL_BYTES = 64 * 1024
/**
 * Smallest piece of a frame kept as a view of the read that brought it (besides its first and
 * last piece); a smaller one switches the frame to a growing buffer. A view keeps its whole read
 * buffer alive (up to `readChunkSize`), so this bounds what is held to a few times what arrived.
 */
const MIN_PIECE = 64 * 1024

/** Options of {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest payload accepted; a larger announced length throws {@link FrameTooLargeError}. */
  readonly maxFrameSize: number
  /**
   * The chunks are lent (the caller reuses their memory once `push` returns): every frame gets
   * bytes of its own. Otherwise frames that lie within one chunk are views of it.
   */
  readonly lent?: boolean
  /** Allocates frame memory (default `Buffer.allocUnsafe`); tests count allocations with it. */
  readonly alloc?: (size: number) => Buffer
}

/**
 * Decodes the message channel's framing (each message is a u32 big-endian length followed by that
 * many bytes) from the chunks of a byte stream, in any split. Pure: no I/O, no timers.
 * @internal Used by the message channel's read loop; exported for the fuzz suite.
 */
export class FrameDecoder {
  readonly #max: number
  readonly #lent: boolean
  readonly #alloc: (size: number) => Buffer
  readonly #header = Buffer.alloc(4)
  #headerFill = 0
  /** Lent chunks: the frame being assembled across them (its buffer grows up to `#frameLength`). */
  #frame: Buffer | undefined
  /**
   * Chunks of our own: views of the pieces of the frame being assembled across them, copied once
   * into a buffer of the frame's exact size when the last one arrives. (Growing a buffer by
   * doubling allocated about twice a large frame and copied most bytes twice; the frame's buffer
   * also lived through the whole assembly, long enough for V8 to promote it.)
   */
  #pieces: Buffer[] | undefined
  #frameLength = 0
  #frameFill = 0

  constructor(options: FrameDecoderOptions) {
    this.#max = options.maxFrameSize
    this.#lent = options.lent ?? false
    this.#alloc = options.alloc ?? Buffer.allocUnsafe
  }

  /**
   * Decodes `chunk`, calling `onFrame` for each message it completes, in order. Throws
   * {@link FrameTooLargeError} when a frame announces more than `maxFrameSize` bytes (the decoder
   * is unusable afterwards). When the chunks are lent, no frame refers to `chunk` once this returns.
   */
  push(chunk: Uint8Array, onFrame: (frame: Buffer) => void): void {
    const max = this.#max
    const header = this.#header
    let headerFill = this.#headerFill
    let frame = this.#frame
    let pieces = this.#pieces
    let frameLength = this.#frameLength
    let frameFill = this.#frameFill
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let at = 0
    const end = buf.byteLength
    let rest: Buffer | undefined // lent reads: a copy of the chunk from `restAt` on
    let restAt = 0
    while (at < end) {
      if (frame !== undefined) {
        const take = Math.min(frameLength - frameFill, end - at)
        if (frameFill + take > frame.byteLength) {
          const grown = this.#alloc(Math.min(frameLength, Math.max(2 * frame.byteLength, frameFill + take)))
          frame.copy(grown, 0, 0, frameFill)
          frame = grown
        }
        buf.copy(frame, frameFill, at, at + take)
        frameFill += take
        at += take
        if (frameFill === frameLength) {
          onFrame(frame)
          frame = undefined
        }
        continue
      }
      if (pieces !== undefined) {
        const take = Math.min(frameLength - frameFill, end - at)
        if (take < MIN_PIECE && pieces.length > 0 && frameFill + take < frameLength) {
          // a small piece in the middle: each would keep its whole read buffer (and an object)
          // alive, so a peer trickling a frame could make us hold far more than it sent. Copy what
          // arrived into a growing buffer and go on as for lent chunks.
          frame = copyInto(
            this.#alloc(Math.min(frameLength, Math.max(FIRST_PARTIAL_BYTES, 2 * (frameFill + take)))),
            pieces,
          )
          pieces = undefined
          continue
        }
        pieces.push(buf.subarray(at, at + take))
        frameFill += take
        at += take
        if (frameFill === frameLength) {
          const whole = copyInto(this.#alloc(frameLength), pieces)
          pieces = undefined
          onFrame(whole)
        }
        continue
      }
      let length: number
      if (headerFill === 0 && end - at >= 4) {
        length = buf.readUInt32BE(at)
        at += 4
      } else {
        const take = Math.min(4 - headerFill, end - at)
        buf.copy(header, headerFill, at, at + take)
        headerFill += take
        at += take
        if (headerFill < 4) continue
        headerFill = 0
        length = header.readUInt32BE(0)
      }
      if (length > max) throw new FrameTooLargeError(length, max, 'receive')
      if (end - at >= length) {
        if (!this.#lent) onFrame(buf.subarray(at, at + length))
        else if (length >= SMALL_FRAME) {
          // a lent chunk is the engine's read buffer: the message needs its own bytes
          const message = this.#alloc(length)
          buf.copy(message, 0, at, at + length)
          onFrame(message)
        } else {
          // small messages share one copy of the rest of the chunk (one allocation, not one each)
          if (rest === undefined) {
            rest = this.#alloc(end - at)
            buf.copy(rest, 0, at, end)
            restAt = at
          }
          onFrame(rest.subarray(at - restAt, at - restAt + length))
        }
        at += length
      } else {
        if (this.#lent) frame = this.#alloc(Math.min(length, Math.max(FIRST_PARTIAL_BYTES, end - at)))
        else pieces = []
        frameLength = length
        frameFill = 0
      }
    }
    this.#headerFill = headerFill
    this.#frame = frame
    this.#pieces = pieces
    this.#frameLength = frameLength
    this.#frameFill = frameFill
  }

  /** True when the bytes pushed so far end on a frame boundary. */
  get atBoundary(): boolean {
    return this.#frame === undefined && this.#pieces === undefined && this.#headerFill === 0
  }

  /**
   * The error for a stream that ends here: a {@link MalformedFrameError} saying how much of the
   * last frame arrived, or `undefined` on a frame boundary.
   */
  endError(): MalformedFrameError | undefined {
    if (this.atBoundary) return undefined
    const detail =
      this.#frame !== undefined || this.#pieces !== undefined
        ? `${this.#frameFill} of ${this.#frameLength} payload bytes`
        : `${this.#headerFill} of 4 header bytes`
    return new MalformedFrameError(`the peer ended the channel inside a frame (${detail})`)
  }
}

/** Copies `pieces` one after another to the start of `target`; returns `target`. */
function copyInto(target: Buffer, pieces: readonly Buffer[]): Buffer {
  let at = 0
  for (const piece of pieces) at += piece.copy(target, at)
  return target
}
