// peer/1 stream preamble: the first byte of every stream says what it carries.

/** The control stream a listener opens on each connection: `[KIND_CONTROL, PROTOCOL_VERSION]`. */
export const KIND_CONTROL = 0x00
/** A raw byte stream (`openStream` / `acceptStream`). */
export const KIND_STREAM = 0x01
/** A message channel (`openChannel` / `acceptChannel`): u32 big-endian length-prefixed frames. */
export const KIND_CHANNEL = 0x02
/**
 * A close notice: `u32 code`, then the reason (UTF-8, at most 512 bytes), then the end of the
 * stream. Sent by the engine layer just before it closes a connection, because not every engine
 * carries an application close code and reason on the wire (quinn's binding closes with 0).
 */
export const KIND_CLOSE = 0x03
/** Version byte carried by the control stream. */
export const PROTOCOL_VERSION = 1

/** Application error codes used for stream resets and connection closes. */
export const CODE = {
  /** Normal close. */
  NO_ERROR: 0,
  /** Generic cancellation (`reset()` without a code). */
  CANCELLED: 1,
  /** Unknown stream kind, bad control stream. */
  PROTOCOL_ERROR: 2,
  /** A frame above the receiver's `maxFrameSize`. */
  FRAME_TOO_LARGE: 3,
  /** Too many pending streams / connections. */
  LIMIT_EXCEEDED: 4,
} as const

/**
 * A readable that first yields `prefix` (bytes already read past the preamble), then the rest of
 * `reader`. Cancelling it cancels the reader.
 */
export function withPrefix(
  prefix: Uint8Array | undefined,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let first = prefix !== undefined && prefix.byteLength > 0 ? prefix : undefined
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (first !== undefined) {
          controller.enqueue(first)
          first = undefined
          return
        }
        try {
          const { value, done } = await reader.read()
          if (done) controller.close()
          else controller.enqueue(value)
        } catch (error) {
          controller.error(error)
        }
      },
      cancel(reason) {
        return reader.cancel(reason).catch(() => {})
      },
    },
    { highWaterMark: 0 },
  )
}
