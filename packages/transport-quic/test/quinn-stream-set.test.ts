// A quinn connection's set of live streams (quinn-stream.ts): once the connection closed, no stream
// wrapper may keep the binding's stream, which holds the client endpoint's UDP socket open.
import { describe, expect, it } from 'vitest'
import type { QuinnStream } from '../src/quinn-binding.js'
import { StreamSet, wrapStream } from '../src/quinn-stream.js'

/** A binding stream that answers nothing (its reads never settle): only whether it is still used counts. */
function idleBindingStream(): QuinnStream {
  return {
    id: () => '0',
    read: () => new Promise(() => {}),
    write: () => Promise.resolve(),
    finishWrite: () => {},
    resetWrite: () => {},
    stopRead: () => {},
  } as unknown as QuinnStream
}

describe('StreamSet', () => {
  it('lets every stream go when the connection closes', () => {
    const set = new StreamSet()
    const forgotten: string[] = []
    set.add({}, () => forgotten.push('a'))
    set.add({}, () => forgotten.push('b'))
    set.forgetAll()
    expect(forgotten).toEqual(['a', 'b'])
  })

  it('a stream added after the close (e.g. the peer close notice, accepted late) is let go at once', async () => {
    const set = new StreamSet()
    set.forgetAll()
    let forgotten = 0
    set.add({}, () => forgotten++)
    expect(forgotten).toBe(1)
    // and it is not waited for
    await set.drained(60_000, 60_000)
  })

  it('a binding stream wrapped after the close is not used any more: reads fail as the connection lost', async () => {
    const set = new StreamSet()
    set.forgetAll()
    const stream = wrapStream(idleBindingStream(), 64 * 1024, false, set)
    await expect(stream.direct!.read()).rejects.toThrow(/connection lost/)
  })
})
