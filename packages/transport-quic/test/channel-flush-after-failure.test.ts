// A channel that fails (its read side broke: the connection closed, the peer reset the stream)
// while one of its writes is in flight, and that write then completes. The failure has already
// dropped what was queued; the completed write must not count its bytes off a second time. It did:
// the send buffer's count went below zero, and the flush loop, seeing bytes "still buffered" and
// none to write, re-armed itself on every event-loop turn, forever: a process that had stopped
// its node spun a core and never exited (a demo node needed SIGKILL about once in ten stops).
import { afterEach, expect, it, vi } from 'vitest'
import { createMessageChannel, type Stream } from '../src/index.js'

/** An in-memory stream whose writes complete only when the test says, and whose read side can fail. */
function heldStream(): { stream: Stream; failRead: (error: Error) => void; completeWrites: () => void } {
  let readController!: ReadableStreamDefaultController<Uint8Array>
  const held: Array<() => void> = []
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      readController = controller
    },
  })
  const writable = new WritableStream<Uint8Array>({
    write: () => new Promise<void>((resolve) => held.push(resolve)),
  })
  return {
    stream: { id: 0, readable, writable, reset: () => {} },
    failRead: (error) => readController.error(error),
    completeWrites: () => {
      for (const resolve of held.splice(0)) resolve()
    },
  }
}

const macrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))

afterEach(() => {
  vi.restoreAllMocks()
})

it('a write that completes after the channel failed leaves no flush loop running', async () => {
  const { stream, failRead, completeWrites } = heldStream()
  const channel = createMessageChannel(stream)
  // an idle channel hands the first message to the stream within send: that write is now in flight
  await channel.send(new Uint8Array(100))
  // queued behind it (the next flush)
  void channel.send(new Uint8Array(50)).catch(() => {})
  const flushed = channel.flush().then(
    () => 'flushed',
    (error: Error) => error.name,
  )
  failRead(new Error('connection lost'))
  await macrotask()
  expect(await flushed).not.toBe('flushed') // the failure rejected the wait for the queued message
  await expect(channel.send(new Uint8Array(1))).rejects.toThrow()

  const immediates = vi.spyOn(globalThis, 'setImmediate')
  completeWrites()
  for (let i = 0; i < 20; i++) await macrotask()
  // each turn of a runaway flush loop schedules the next one
  expect(immediates.mock.calls.length).toBe(0)
  await channel.closed
})
