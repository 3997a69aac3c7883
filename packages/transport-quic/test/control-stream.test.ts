// The control stream's reader: the listener's version and hello (or the dialer's answer) are read
// to the end of the stream, and a stream longer than the bound is refused rather than buffered.
import { describe, expect, it } from 'vitest'
import { readToEnd } from '../src/control-stream.js'
import type { EngineStream } from '../src/engine.js'
import { type ChunkReads, chunkReads } from '../src/stream-io.js'

/** The reads of a stream without reads of its own, through its web-stream reader. */
function readsOf(reader: ReadableStreamDefaultReader<Uint8Array>): ChunkReads {
  return chunkReads({} as EngineStream, reader)
}

function readerOf(chunks: number[][], fail = false): ChunkReads {
  let i = 0
  return readsOf(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i < chunks.length) controller.enqueue(Uint8Array.from(chunks[i++]!))
        else if (fail) controller.error(new Error('reset'))
        else controller.close()
      },
    }).getReader(),
  )
}

describe('readToEnd', () => {
  it('joins the bytes already read and every chunk up to the end of the stream', async () => {
    const out = await readToEnd(readerOf([[2, 3], [4]]), Uint8Array.of(1), 10)
    expect([...out!]).toEqual([1, 2, 3, 4])
    expect([...(await readToEnd(readerOf([]), Uint8Array.of(7), 10))!]).toEqual([7])
    expect((await readToEnd(readerOf([]), undefined, 10))!.byteLength).toBe(0)
  })
  it('gives up (undefined) on a stream longer than the bound, without reading it all', async () => {
    let pulled = 0
    const endless = readsOf(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++
          controller.enqueue(new Uint8Array(1000))
        },
      }).getReader(),
    )
    expect(await readToEnd(endless, undefined, 4096)).toBeUndefined()
    expect(pulled).toBeLessThan(10)
    expect(await readToEnd(readerOf([[1, 2, 3]]), Uint8Array.of(0), 3)).toBeUndefined()
    expect(await readToEnd(readerOf([[1, 2]]), Uint8Array.of(0), 3)).toBeDefined()
  })
  it('gives up (undefined) on a stream that fails', async () => {
    expect(await readToEnd(readerOf([[1]], true), undefined, 10)).toBeUndefined()
  })
})
