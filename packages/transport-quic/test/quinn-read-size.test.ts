// The quinn stream wrapper's read size: small while answers are small (the binding allocates the
// whole size asked per read), growing at once when reads come back full (bulk).
import { expect, it } from 'vitest'
import type { QuinnStream } from '../src/quinn-binding.js'
import { wrapStream } from '../src/quinn-stream.js'

const KiB = 1024

/** A binding stream whose reads return `sizes[i]` bytes (capped at what was asked), then the end. */
function scripted(sizes: number[]): { stream: QuinnStream; asked: number[] } {
  const asked: number[] = []
  let i = 0
  const stream: QuinnStream = {
    id: () => '0',
    read: async (max) => {
      asked.push(max)
      const n = sizes[i++]
      return n === undefined ? null : new Uint8Array(Math.min(n, max))
    },
    write: async () => {},
    finishWrite: () => {},
    resetWrite: () => {},
    stopRead: () => {},
  }
  return { stream, asked }
}

async function drain(stream: QuinnStream, max: number): Promise<void> {
  const reader = wrapStream(stream, max, false).readable.getReader()
  while (!(await reader.read()).done) {}
}

it('asks 16 KiB for small answers, grows fourfold on full reads up to the maximum, and shrinks back', async () => {
  const full = Number.MAX_SAFE_INTEGER
  const { stream, asked } = scripted([70, 70, full, full, full, full, 70, 70, 70, 70, 70])
  await drain(stream, 256 * KiB)
  expect(asked).toEqual([
    16 * KiB, // small answers: the least size
    16 * KiB,
    16 * KiB, // full: four times as much next
    64 * KiB,
    256 * KiB, // the maximum
    256 * KiB,
    256 * KiB, // a small read: half as much each time, down to the least
    128 * KiB,
    64 * KiB,
    32 * KiB,
    16 * KiB,
    16 * KiB, // the end
  ])
})

it('never asks more than a small maximum', async () => {
  const { stream, asked } = scripted([4096, 4096, 10])
  await drain(stream, 4 * KiB)
  expect(asked).toEqual([4 * KiB, 4 * KiB, 4 * KiB, 4 * KiB])
})
