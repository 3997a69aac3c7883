// A channel we open starts its stream with the preamble (the kind byte), written together with the
// messages sent in the same event-loop turn: the peer then sees the channel and its first messages
// in one packet and one read. With nothing sent, the preamble goes alone at the end of the turn,
// so the peer sees the channel at once all the same.
import { expect, it } from 'vitest'
import { FramedMessageChannel } from '../src/message-channel.js'
import { KIND_CHANNEL } from '../src/wire.js'
import { CHANNEL_OPTIONS } from './fixtures/channel-options.js'

const OPTIONS = CHANNEL_OPTIONS

/** An in-memory stream that records every write (copied: chunks are recycled). */
function recordingStream() {
  const writes: number[][] = []
  const stream = {
    id: 0,
    readable: new ReadableStream<Uint8Array>({ pull() {} }, { highWaterMark: 0 }),
    writable: new WritableStream<Uint8Array>({
      write(chunk) {
        writes.push([...chunk])
      },
    }),
    reset() {},
  }
  return { stream, writes }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

it('writes the preamble and the messages sent in the same turn in one write', async () => {
  const { stream, writes } = recordingStream()
  const channel = new FramedMessageChannel(stream, undefined, OPTIONS, () => undefined)
  channel.preamble(KIND_CHANNEL)
  await Promise.all([channel.send(Uint8Array.of(7)), channel.send(Uint8Array.of(8, 9))])
  await channel.flush()
  expect(writes).toEqual([[KIND_CHANNEL, 0, 0, 0, 1, 7, 0, 0, 0, 2, 8, 9]])
})

it('writes the preamble alone at the end of the turn when nothing is sent, then messages as usual', async () => {
  const { stream, writes } = recordingStream()
  const channel = new FramedMessageChannel(stream, undefined, OPTIONS, () => undefined)
  channel.preamble(KIND_CHANNEL)
  await turn()
  await turn()
  expect(writes).toEqual([[KIND_CHANNEL]])
  await channel.send(Uint8Array.of(5))
  await channel.flush()
  expect(writes).toEqual([[KIND_CHANNEL], [0, 0, 0, 1, 5]])
})

it('flush and close wait for the preamble too', async () => {
  const { stream, writes } = recordingStream()
  const channel = new FramedMessageChannel(stream, undefined, OPTIONS, () => undefined)
  channel.preamble(KIND_CHANNEL)
  await channel.close()
  expect(writes).toEqual([[KIND_CHANNEL]])
})
