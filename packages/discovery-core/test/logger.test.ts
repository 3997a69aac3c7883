import { testId } from '@peer/testkit/ids'
import { warningsCoded, warningsDuring } from '@peer/testkit/warnings'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { consoleLogger, defaultLogger, type Logger, namespaceFilter, silentLogger } from '../src/index.js'
import { componentLogger } from '../src/internal.js'
import { TestBackend } from './fixtures.js'

const savedDebug = process.env.PEER_DEBUG
afterEach(() => {
  if (savedDebug === undefined) delete process.env.PEER_DEBUG
  else process.env.PEER_DEBUG = savedDebug
  vi.restoreAllMocks()
})

/** Collects what is written to process.stderr while `fn` runs. */
async function stderrOf(fn: () => unknown): Promise<string> {
  let text = ''
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk)
    return true
  })
  try {
    await fn()
  } finally {
    vi.restoreAllMocks()
  }
  return text
}

describe('loggers', () => {
  it('the default logger discards everything without PEER_DEBUG', async () => {
    delete process.env.PEER_DEBUG
    const out = await stderrOf(() => {
      const log = silentLogger('peer:x')
      log.error('nothing')
      defaultLogger('peer:y').debug('nothing either')
    })
    expect(out).toBe('')
    const log = silentLogger('peer:x')
    expect(log.namespace).toBe('peer:x')
    expect(() => log.error('nothing')).not.toThrow()
  })

  it('writes one inert line: control characters in the message and fields are escaped', () => {
    const lines: string[] = []
    const log = consoleLogger({ filter: 'peer:*', level: 'info', write: (l) => lines.push(l) })('peer:test')
    // text from the network: a name with CSI (8-bit and 7-bit), DEL, a newline in an error message
    log.warn('peer a\u009b2Jb said\nhi', { name: 'x\u001b[2J\u007f\u0085', error: new Error('two\nlines') })
    expect(lines).toHaveLength(1)
    expect(lines[0]).not.toMatch(/\p{Cc}/u)
    expect(lines[0]).toContain('peer a\\u009b2Jb said\\u000ahi')
    expect(lines[0]).toContain('"name":"x\\u001b[2J\\u007f\\u0085"')
    expect(lines[0]).toContain('"message":"two\\nlines"')
  })

  it('filters namespaces like DEBUG, with exclusions', () => {
    const match = namespaceFilter('peer:*,-peer:transport:*')
    expect(match('peer:discovery:mdns')).toBe(true)
    expect(match('peer:transport:quic')).toBe(false)
    expect(match('other')).toBe(false)
  })

  it('prints level, namespace, message and fields, respecting the level', () => {
    const lines: string[] = []
    const factory = consoleLogger({ filter: 'peer:*', level: 'info', write: (l) => lines.push(l) })
    const log = factory('peer:test')
    log.debug('hidden')
    log.warn('visible', { error: new Error('boom'), big: 1n })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /WARN +peer:test visible \{"error":\{"name":"Error","message":"boom"\},"big":"1"\}/,
    )
  })

  it("PEER_DEBUG=peer:* shows a backend's debug lines (its drops) on stderr with no logger passed", async () => {
    process.env.PEER_DEBUG = 'peer:*'
    const out = await stderrOf(async () => {
      const b = new TestBackend('demo')
      await b.start()
      b.found({ id: 'not-a-node-id' })
      await b.stop()
    })
    expect(out).toMatch(/DEBUG peer:discovery:demo dropped invalid record/)
  })

  it('PEER_DEBUG selects namespaces like DEBUG does', async () => {
    process.env.PEER_DEBUG = 'peer:discovery:*,-peer:discovery:quiet'
    const out = await stderrOf(async () => {
      for (const source of ['loud', 'quiet']) {
        const b = new TestBackend(source)
        await b.start()
        b.found({ id: testId('x'), addresses: 'nope' })
        await b.stop()
      }
      defaultLogger('peer:node').warn('not selected')
    })
    expect(out).toMatch(/peer:discovery:loud dropped invalid record/)
    expect(out).not.toMatch(/quiet|not selected/)
  })

  it('consoleLogger adds debug lines for the PEER_DEBUG namespaces whatever its level', () => {
    const lines: string[] = []
    const factory = consoleLogger({ level: 'warn', debug: 'peer:discovery:*', write: (l) => lines.push(l) })
    factory('peer:discovery:mdns').debug('shown')
    factory('peer:node').info('hidden')
    factory('peer:node').warn('shown too')
    expect(lines.map((l) => l.split(' ').slice(1).join(' '))).toEqual([
      'DEBUG peer:discovery:mdns shown',
      'WARN  peer:node shown too',
    ])
  })

  it('componentLogger: a failing factory or method costs lines, never a throw, and is reported once', async () => {
    // a logger class: methods on the prototype, called with their `this`
    class Sink {
      readonly lines: string[] = []
      constructor(readonly namespace: string) {}
      debug(m: string) {
        this.lines.push(`debug ${m}`)
      }
      info(m: string) {
        this.lines.push(`info ${m}`)
      }
      warn(m: string) {
        this.lines.push(`warn ${m}`)
      }
      error(): void {
        throw new Error('sink closed')
      }
    }
    const warnings = await warningsDuring(() => {
      let sink: Sink | undefined
      const log = componentLogger((ns) => {
        sink = new Sink(ns)
        return sink
      }, 'peer:test')
      log.info('kept')
      expect(() => log.error('lost')).not.toThrow()
      expect(sink?.lines).toEqual(['info kept'])
      expect(log.namespace).toBe('peer:test')
      // a factory that throws, or returns no logger: the default logger for the namespace
      const thrower = componentLogger(() => {
        throw new Error('no sink')
      }, 'peer:a')
      const nothing = componentLogger(() => undefined as unknown as Logger, 'peer:b')
      for (const l of [thrower, nothing]) expect(() => l.warn('x')).not.toThrow()
      expect([thrower.namespace, nothing.namespace]).toEqual(['peer:a', 'peer:b'])
      // a logger object without a namespace gets the one asked for
      const unnamed = { ...silentLogger('x'), namespace: undefined as unknown as string }
      expect(componentLogger(() => unnamed, 'peer:c').namespace).toBe('peer:c')
    })
    expect(warningsCoded(warnings, 'PEER_LOGGER_FAILED')).toEqual([
      'the error method of the logger for peer:test threw (sink closed); its lines are lost, later failures are not reported',
    ])
  })
})
