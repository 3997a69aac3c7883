import { testId } from '@peer/testkit/ids'
import { describe, expect, it } from 'vitest'
import { assertNodeId, InvalidNodeIdError, isNodeId, NODE_ID_LENGTH, shortId } from '../src/index.js'

describe('node ids', () => {
  it('accepts base32 SHA-256 ids', () => {
    const id = testId('a')
    expect(id).toHaveLength(NODE_ID_LENGTH)
    expect(isNodeId(id)).toBe(true)
    expect(() => assertNodeId(id)).not.toThrow()
  })

  it.each([
    [42, 'must be a string'],
    ['abc', 'must be 52 characters'],
    [testId('a').toUpperCase(), 'lowercase base32'],
    [`${testId('a').slice(0, 51)}1`, 'lowercase base32'],
    [`${testId('a').slice(0, 51)}b`, 'padding bits'],
  ])('rejects %j (%s)', (input, reason) => {
    expect(isNodeId(input)).toBe(false)
    expect(() => assertNodeId(input)).toThrow(InvalidNodeIdError)
    expect(() => assertNodeId(input)).toThrow(reason)
  })

  it('shortens ids for display', () => {
    expect(shortId(testId('a'))).toMatch(/^[a-z2-7]{8}\.\.[a-z2-7]{4}$/)
  })
})
