import { MalformedFrameError } from './errors.js'

/**
 * The partial-frame timeout of a channel's reader: how long it has waited for the bytes of the
 * frame in progress, from the frame's first byte, across reads, until the frame is complete. Not
 * until the reader is at a frame boundary: back-to-back messages (a bulk transfer with several in
 * flight) rarely leave a read at one, and summing the waits of every frame since the last
 * boundary closed a healthy channel after `limitMs` (a 1 MB transfer through 5% loss and 50 ms of
 * delay, after about half a minute).
 * @internal
 */
export class PartialFrameTimer {
  readonly #limitMs: number
  readonly #onTimeout: () => void
  #waitedMs = 0

  /** `onTimeout` runs once the frame in progress has waited `limitMs` (it resets the stream). */
  constructor(limitMs: number, onTimeout: () => void) {
    this.#limitMs = limitMs
    this.#onTimeout = onTimeout
  }

  /**
   * Awaits `read`, a read inside a frame: the wait counts against the frame's time, and once that
   * is used up the read fails with {@link MalformedFrameError} and `onTimeout` runs. (A read at a
   * frame boundary has no limit: the caller awaits it directly.)
   */
  async read<T>(read: Promise<T>): Promise<T> {
    const started = performance.now()
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        read,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => {
              read.catch(() => {})
              // reject first: the reset fails the pending read too, and the race keeps the first
              reject(new MalformedFrameError(`the peer stalled inside a frame for ${this.#limitMs} ms`))
              this.#onTimeout()
            },
            Math.max(0, this.#limitMs - this.#waitedMs),
          )
        }),
      ])
    } finally {
      clearTimeout(timer)
      this.#waitedMs += performance.now() - started
    }
  }

  /** A frame completed: the next one starts with all of its time. */
  frameDone(): void {
    this.#waitedMs = 0
  }
}
