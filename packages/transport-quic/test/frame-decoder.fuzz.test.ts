// Fuzz: the message channel's frame decoding (u32 big-endian length + payload), fed valid,
// mutated, spliced and random byte streams in random chunk splits, through FrameDecoder and through
// a message channel's read loop on an in-memory stream (no network). Invariants: only
// FrameTooLargeError / MalformedFrameError; decoded frames re-encode to the bytes consumed; a valid
// stream round-trips in any split; lent chunks are never aliased; memory is bounded by the input
// (an announced length is not allocated up front); bounded time. See docs/fuzzing.md.

import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import {
  expectDocumentedError,
  mutatedBytes,
  splicedBytes,
  withinCaseBound,
  withinCaseBoundAsync,
} from '@peer/testkit/fuzz-inputs'
import { collectGarbage } from '@peer/testkit/handles'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FrameDecoder } from '../src/frame-decoder.js'
import { FrameTooLargeError, MalformedFrameError, TransportError } from '../src/index.js'
import { FramedMessageChannel } from '../src/message-channel.js'
import { CODE } from '../src/wire.js'

const DEFAULT_MAX = 16 * 1024 * 1024
/** What the decoder may allocate beyond twice the bytes it was given (one growth step). */
const ALLOC_SLACK = 64 * 1024

function encode(messages: readonly Uint8Array[]): Uint8Array {
  const out = Buffer.alloc(messages.reduce((n, m) => n + 4 + m.byteLength, 0))
  let at = 0
  for (const m of messages) {
    out.writeUInt32BE(m.byteLength, at)
    out.set(m, at + 4)
    at += 4 + m.byteLength
  }
  return out
}

/** Small, around the lent-copy threshold (4096), and larger than a typical chunk. */
const messageArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 48 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 4090, max: 4100 }), fc.integer({ min: 0, max: 255 }))
      .map(([n, b]) => pattern(n, b)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 4101, max: 70_000 }), fc.integer({ min: 0, max: 255 }))
      .map(([n, b]) => pattern(n, b)),
  },
)
/** `n` bytes of `b` with the length and a marker written in, so frames of one size differ. */
function pattern(n: number, b: number): Uint8Array {
  const out = Buffer.alloc(n, b)
  out.writeUInt32BE(n, 0)
  out.writeUInt32BE(b, n - 4)
  return out
}

/** Byte-wise equality of two frame lists (vitest's deep equality is slow on large buffers). */
function sameFrames(actual: readonly Uint8Array[], expected: readonly Uint8Array[]): void {
  expect(actual.length).toBe(expected.length)
  actual.forEach((frame, i) => {
    if (Buffer.compare(frame, expected[i]!) !== 0) throw new Error(`frame ${i} differs`)
  })
}

const messagesArb = fc.array(messageArb, { maxLength: 10 })
const streamArb = messagesArb.map(encode)

/** A stream of bytes that is not (only) valid framing. */
const hostileArb = fc.oneof(
  mutatedBytes(streamArb, 4),
  splicedBytes(streamArb),
  fc.uint8Array({ maxLength: 64 }),
  // a header announcing a length up to twice the limit, then a little of the payload
  fc
    .tuple(fc.integer({ min: 0, max: 2 * DEFAULT_MAX }), fc.uint8Array({ maxLength: 32 }))
    .map(([n, tail]) => encodeHeaderThen(n, tail)),
)

function encodeHeaderThen(length: number, tail: Uint8Array): Uint8Array {
  const out = Buffer.alloc(4 + tail.byteLength)
  out.writeUInt32BE(length, 0)
  out.set(tail, 4)
  return out
}

/** Cut points (any number, anywhere) splitting `bytes` into chunks. */
const cutsArb = fc.array(fc.nat(), { maxLength: 12 })

function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let from = 0
  for (const p of points) {
    chunks.push(bytes.subarray(from, p))
    from = p
  }
  chunks.push(bytes.subarray(from))
  return chunks
}

interface Decoded {
  frames: Uint8Array[]
  error: FrameTooLargeError | undefined
  endError: MalformedFrameError | undefined
}

/**
 * Pushes `chunks` through a decoder. Lent mode hands the decoder a scratch buffer that is
 * overwritten after each push (as the engine reuses its read buffer), so an aliased frame shows.
 * Checks every allocation against the bytes given so far.
 */
function decode(chunks: readonly Uint8Array[], lent: boolean, maxFrameSize: number): Decoded {
  let given = 0
  const alloc = (size: number) => {
    if (size > Math.max(ALLOC_SLACK, 2 * given)) {
      throw new Error(`allocated ${size} bytes after receiving ${given} (the announced length, not the data)`)
    }
    return Buffer.allocUnsafe(size)
  }
  const decoder = new FrameDecoder({ maxFrameSize, lent, alloc })
  const frames: Uint8Array[] = []
  const onFrame = (frame: Buffer) => {
    expect(frame.byteLength).toBeLessThanOrEqual(maxFrameSize)
    frames.push(frame)
  }
  for (const chunk of chunks) {
    given += chunk.byteLength
    const input = lent ? Buffer.from(chunk) : chunk
    try {
      decoder.push(input, onFrame)
    } catch (error) {
      return { frames, error: expectDocumentedError(error, FrameTooLargeError), endError: undefined }
    }
    if (lent) (input as Buffer).fill(0xa5)
  }
  const endError = decoder.endError()
  if (endError !== undefined) {
    expectDocumentedError(endError, MalformedFrameError)
    expect(endError.message).toMatch(/ended the channel inside a frame \(\d+ of \d+ (payload|header) bytes\)/)
  }
  expect(decoder.atBoundary).toBe(endError === undefined)
  return { frames, error: undefined, endError }
}

function checkHostile(
  bytes: Uint8Array,
  cuts: readonly number[],
  lent: boolean,
  maxFrameSize: number,
): Decoded {
  const result = withinCaseBound(() => decode(split(bytes, cuts), lent, maxFrameSize))
  // what was decoded is exactly a prefix of the input, frame by frame
  const consumed = encode(result.frames)
  expect(Buffer.compare(consumed, bytes.subarray(0, consumed.byteLength))).toBe(0)
  if (result.error !== undefined) {
    expect(result.error.size).toBeGreaterThan(maxFrameSize)
    expect(bytes.subarray(consumed.byteLength, consumed.byteLength + 4).byteLength).toBe(4)
  } else if (result.endError === undefined) {
    expect(consumed.byteLength).toBe(bytes.byteLength)
  } else {
    expect(consumed.byteLength).toBeLessThan(bytes.byteLength)
  }
  return result
}

/** A decoder whose allocations are recorded (their sizes), and an array for its frames. */
function recordingDecoder(lent: boolean): { sizes: number[]; frames: Buffer[]; decoder: FrameDecoder } {
  const sizes: number[] = []
  const alloc = (size: number) => {
    sizes.push(size)
    return Buffer.allocUnsafe(size)
  }
  return { sizes, frames: [], decoder: new FrameDecoder({ maxFrameSize: DEFAULT_MAX, alloc, lent }) }
}

describe('message channel frames (fuzz)', () => {
  it('allocates for the bytes that arrived, not for the length a header announces (fuzzer case [0,1,0,1])', () => {
    const { sizes, frames, decoder } = recordingDecoder(false)
    const payload = pattern(DEFAULT_MAX, 7)
    decoder.push(encodeHeaderThen(DEFAULT_MAX, payload.subarray(0, 10)), (f) => frames.push(f))
    expect(Math.max(...sizes)).toBeLessThanOrEqual(ALLOC_SLACK)
    expect(decoder.endError()?.message).toContain(`10 of ${DEFAULT_MAX} payload bytes`)
    // the rest arrives in 1 MiB pieces: the buffer grows to the frame and the frame is intact
    for (let at = 10; at < DEFAULT_MAX; at += 1024 * 1024) {
      decoder.push(payload.subarray(at, Math.min(DEFAULT_MAX, at + 1024 * 1024)), (f) => frames.push(f))
    }
    expect(frames).toHaveLength(1)
    expect(Buffer.compare(frames[0]!, payload)).toBe(0)
    expect(sizes.at(-1)).toBe(DEFAULT_MAX)
  })

  it('a large frame across chunks of our own is allocated once, at its size, when it is complete', () => {
    // growing a buffer by doubling allocated about twice the frame and copied most bytes twice
    for (const lent of [false, true]) {
      const { sizes, frames, decoder } = recordingDecoder(lent)
      const payload = pattern(1024 * 1024, 3)
      const wire = encodeHeaderThen(payload.byteLength, payload)
      for (let at = 0; at < wire.byteLength; at += 64 * 1024) {
        const chunk = Buffer.from(wire.subarray(at, Math.min(wire.byteLength, at + 64 * 1024)))
        decoder.push(chunk, (f) => frames.push(f))
        if (lent) chunk.fill(0xa5) // the engine reuses a lent chunk once push returns
        if (!lent && frames.length === 0) expect(sizes).toEqual([])
      }
      expect(frames).toHaveLength(1)
      expect(Buffer.compare(frames[0]!, payload)).toBe(0)
      if (!lent) expect(sizes).toEqual([payload.byteLength])
      else expect(sizes.length).toBeGreaterThan(1) // lent chunks must be copied as they come
    }
  })

  it('a frame trickled in small pieces is copied into a growing buffer, not kept as views of them', async () => {
    const { sizes, frames, decoder } = recordingDecoder(false)
    const payload = pattern(512 * 1024, 5)
    const wire = encodeHeaderThen(payload.byteLength, payload)
    // each piece arrives in a read buffer of its own, 64 times its size (as the engine's reads do)
    const reads: WeakRef<ArrayBuffer>[] = []
    const PIECE = 1000
    for (let at = 0; at < wire.byteLength; at += PIECE) {
      const read = Buffer.alloc(64 * PIECE)
      const n = Math.min(PIECE, wire.byteLength - at)
      wire.subarray(at, at + n).forEach((b, i) => {
        read[i] = b
      })
      reads.push(new WeakRef(read.buffer))
      decoder.push(read.subarray(0, n), (f) => frames.push(f))
      if (reads.length === 200) {
        // halfway: the read buffers of the pieces so far are not held (12.8 MB for 200 kB sent).
        // A WeakRef holds its target until the end of the job that made it: yield first.
        await new Promise((resolve) => setImmediate(resolve))
        collectGarbage()
        expect(reads.filter((r) => r.deref() !== undefined).length).toBeLessThan(10)
      }
    }
    expect(frames).toHaveLength(1)
    expect(Buffer.compare(frames[0]!, payload)).toBe(0)
    // a growing buffer: about twice the frame in all, never a buffer per piece
    expect(sizes.length).toBeLessThan(16)
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2 * payload.byteLength + ALLOC_SLACK)
  })

  it(
    'valid frames round-trip in any chunk split, lent or not',
    () => {
      fc.assert(
        fc.property(messagesArb, cutsArb, fc.boolean(), (messages, cuts, lent) => {
          const result = withinCaseBound(() => decode(split(encode(messages), cuts), lent, DEFAULT_MAX))
          expect(result.error).toBeUndefined()
          expect(result.endError).toBeUndefined()
          sameFrames(result.frames, messages)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'mutated, spliced and random streams: frames of the input, or the documented error; memory bounded by the input',
    () => {
      const maxArb = fc.oneof(fc.constant(DEFAULT_MAX), fc.integer({ min: 0, max: 5000 }))
      fc.assert(
        fc.property(hostileArb, cutsArb, fc.boolean(), maxArb, (bytes, cuts, lent, max) => {
          checkHostile(bytes, cuts, lent, max)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    "through a channel's read loop: the same frames, then the end or the documented error and the matching reset",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(streamArb, hostileArb),
          cutsArb,
          fc.boolean(),
          fc.boolean(),
          async (bytes, cuts, engine, withLeftover) => {
            const chunks = split(bytes, cuts)
            const expected = decode(chunks, engine, 1024 * 1024)
            // the bytes read past the stream preamble come first, as `leftover`
            const leftover = withLeftover ? Uint8Array.from(chunks[0]!) : undefined
            const stream = memoryStream(withLeftover ? chunks.slice(1) : chunks, engine)
            const channel = new FramedMessageChannel(
              stream,
              leftover,
              {
                maxFrameSize: 1024 * 1024,
                maxBufferedBytes: 1024 * 1024,
                maxQueuedMessages: 4,
                coalesceBytes: 64 * 1024,
                partialFrameTimeoutMs: 60_000,
              },
              () => undefined,
              undefined,
              undefined,
              engine,
            )
            const received: Uint8Array[] = []
            const outcome = await withinCaseBoundAsync(async () => {
              try {
                for (;;) {
                  const m = await channel.receive()
                  if (m === undefined) return undefined
                  received.push(Buffer.from(m))
                }
              } catch (error) {
                return expectDocumentedError(error, TransportError)
              }
            }, 1000)
            sameFrames(received, expected.frames)
            if (expected.error !== undefined) {
              expect(outcome).toBeInstanceOf(FrameTooLargeError)
              expect(stream.resets).toEqual([CODE.FRAME_TOO_LARGE])
            } else if (expected.endError !== undefined) {
              expect(outcome).toBeInstanceOf(MalformedFrameError)
              expect(stream.resets).toEqual([CODE.PROTOCOL_ERROR])
            } else {
              expect(outcome).toBeUndefined()
              expect(stream.resets).toEqual([])
            }
            channel.reset()
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

/**
 * An in-memory stream delivering `chunks`. With `engine`, it lends one read buffer, as the QUIC
 * engine does: a chunk is copied into it, and it is scribbled over once released.
 */
function memoryStream(chunks: readonly Uint8Array[], engine: boolean) {
  const resets: number[] = []
  let next = 0
  let lent: Buffer | undefined
  const readable = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (next >= chunks.length) {
          controller.close()
          return
        }
        const chunk = chunks[next++]!
        if (!engine) controller.enqueue(Uint8Array.from(chunk))
        else {
          lent = Buffer.from(chunk)
          controller.enqueue(lent)
        }
      },
    },
    { highWaterMark: 0 },
  )
  const writable = new WritableStream<Uint8Array>({})
  return {
    id: 0,
    readable,
    writable,
    resets,
    reset(code: number) {
      resets.push(code)
    },
    lendReads: () => () => lent?.fill(0x5a),
  }
}
