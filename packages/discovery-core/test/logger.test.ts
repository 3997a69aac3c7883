import { describe, expect, it } from 'vitest'
import { consoleLogger, namespaceFilter, silentLogger } from '../src/index.js'

describe('loggers', () => {
  it('the silent logger discards everything', () => {
    const log = silentLogger('peer:x')
    expect(log.namespace).toBe('peer:x')
    expect(() => log.error('nothing')).not.toThrow()
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
})
