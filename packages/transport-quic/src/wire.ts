// peer/1 stream preamble: the first byte of every stream says what it carries.

/**
 * The control stream a listener opens on each connection: `[KIND_CONTROL, PROTOCOL_VERSION]`, then
 * the listener's hello bytes (`TransportOptions.hello`, none when it has none), then the end of the
 * stream. The dialer answers `[0x01]`, then its own hello bytes, then the end of the stream.
 * Versions before the hello bytes send and read only the first bytes, so both forms interoperate.
 */
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
/** Largest hello (`TransportOptions.hello`) in bytes. */
export const MAX_HELLO_BYTES = 4096
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
  /**
   * Too many pending streams / connections / stream opens per second; also a listener's refusal
   * after `stopAccepting` or while closing (unless the reason is `shutdown`).
   */
  LIMIT_EXCEEDED: 4,
  /**
   * The closing side is stopping for good (`close('shutdown')`): do not redial it until it is announced
   * again.
   */
  SHUTDOWN: 5,
  /**
   * The connection was replaced by a newer one to the same peer (`close('duplicate')` or
   * `close('replaced')`).
   */
  REPLACED: 6,
} as const

/**
 * The application code of a `close(reason)` given no code: `shutdown` -> SHUTDOWN, `duplicate` and
 * `replaced` -> REPLACED, anything else NO_ERROR, so the other side can tell why without parsing text.
 */
export function closeCodeFor(reason: string): number {
  if (reason === 'shutdown') return CODE.SHUTDOWN
  if (reason === 'duplicate' || reason === 'replaced') return CODE.REPLACED
  return CODE.NO_ERROR
}

/**
 * A readable that first yields `prefix` (bytes already read past the preamble, or a header), then
 * the rest of `reader`. Cancelling it cancels the reader. `onEnd` runs once the readable ended,
 * failed or was cancelled.
 */
export function withPrefix(
  prefix: Uint8Array | undefined,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  onEnd: () => void = () => {},
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
          if (done) {
            controller.close()
            onEnd()
          } else controller.enqueue(value)
        } catch (error) {
          controller.error(error)
          onEnd()
        }
      },
      cancel(reason) {
        onEnd()
        return reader.cancel(reason).catch(() => {})
      },
    },
    { highWaterMark: 0 },
  )
}
