// Every error of the peer packages extends PeerError, and its message often quotes input: a value
// from the network, a file's text inside a parser's own message (V8's JSON errors quote the text
// around the fault). The message reaches logs and terminals, so it holds no control character
// but line breaks (a message may list problems on lines).
import { describe, expect, it } from 'vitest'
import { ConfigError, InvalidPeerRecordError, PeerError, validatePeerRecord } from '../src/index.js'

describe('error messages', () => {
  it('escape every control character but a line break', () => {
    const e = new PeerError('a\tb\u001b[2J\nline two \u009b31m \u007f \u0085')
    expect(e.message).toBe('a\\u0009b\\u001b[2J\nline two \\u009b31m \\u007f \\u0085')
    expect(new ConfigError('x\u0000y').message).toBe('x\\u0000y')
    let parseMessage = ''
    try {
      JSON.parse('{"a":\u0001}')
    } catch (error) {
      parseMessage = (error as Error).message
    }
    expect(parseMessage).toMatch(/\p{Cc}/u) // what V8 hands over
    expect(new PeerError(`not valid JSON: ${parseMessage}`).message).not.toMatch(/\p{Cc}/u)
  })

  it('name a record key with control characters by its escapes, in the path and the message', () => {
    const error = new InvalidPeerRecordError('meta.k\u007f\u001b', 'keys are 1-64 of [A-Za-z0-9._-]')
    expect(error.path).toBe('meta.k\\u007f\\u001b')
    expect(error.message).toBe('invalid peer record: meta.k\\u007f\\u001b: keys are 1-64 of [A-Za-z0-9._-]')
    const id = 'a'.repeat(52)
    expect(() =>
      validatePeerRecord({
        id,
        source: 'static',
        addresses: [{ host: '127.0.0.1', port: 1 }],
        meta: { 'k\u009b': 'v' },
      }),
    ).toThrow(/^invalid peer record: meta\.k\\u009b: /)
  })
})
