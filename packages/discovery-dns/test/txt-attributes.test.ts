import { testId } from '@peer/testkit/ids'
import { describe, expect, it } from 'vitest'
import { identify, parseTxtAttributes } from '../src/index.js'

const limits = { maxMetaEntries: 3, maxMetaKeyLength: 8, maxMetaValueLength: 10 }
const id = testId('txt')
const other = testId('other')

describe('parseTxtAttributes', () => {
  it('reads key=value pairs, case-insensitive keys, first occurrence wins', () => {
    const { attributes, skipped } = parseTxtAttributes(['ID=a', 'id=b', 'flag', '', 'empty=', '=x'])
    expect(Object.fromEntries(attributes)).toEqual({ id: 'a', empty: '' })
    expect(skipped).toBe(2)
  })
})

describe('identify', () => {
  it('takes the id and name from TXT, the rest as bounded meta', () => {
    const out = identify(
      'x.peer.test',
      [`id=${id}`, 'name=a@b', 'k1=v', 'toolongkey=v', 'k2=0123456789abc', 'k3=v', 'k4=v', 'k5=v'],
      'txt-or-label',
      limits,
    )
    expect(out).toEqual({ id, name: 'a@b', meta: { k1: 'v', k3: 'v', k4: 'v' } })
  })

  it('leaves meta undefined when maxMetaEntries is 0 or no attribute fits', () => {
    const txt = [`id=${id}`, 'name=a@b', 'k1=v', 'k2=v']
    const none = identify('x.peer.test', txt, 'txt-or-label', { ...limits, maxMetaEntries: 0 })
    expect(none).toEqual({ id, name: 'a@b', meta: undefined })
    expect(none).toHaveProperty('meta', undefined)
    const skipped = identify('x.peer.test', [`id=${id}`, 'toolongkey=v'], 'txt-or-label', limits)
    expect(skipped).toHaveProperty('meta', undefined)
  })

  it('falls back to the target label, and checks that both agree', () => {
    expect(identify(`${id}.peer.test`, undefined, 'txt-or-label', limits)).toMatchObject({ id })
    expect(identify(`${id}.peer.test`, [`id=${id}`], 'txt-or-label', limits)).toMatchObject({ id })
    expect(identify(`${id}.peer.test`, [`id=${other}`], 'txt-or-label', limits)).toMatch(/different nodes/)
  })

  it('honours the id source', () => {
    expect(identify(`${id}.peer.test`, [`id=${other}`], 'label', limits)).toEqual({
      id,
      name: undefined,
      meta: undefined,
    })
    expect(identify(`${id}.peer.test`, undefined, 'txt', limits)).toMatch(/no TXT id/)
    expect(identify('x.peer.test', [`id=${id}`], 'label', limits)).toMatch(/node id label/)
  })

  it('rejects bad or missing ids with a reason', () => {
    expect(identify('x.peer.test', ['id=nope'], 'txt-or-label', limits)).toMatch(/not a node id/)
    expect(identify('x.peer.test', ['name=a@b'], 'txt-or-label', limits)).toMatch(/neither/)
    expect(identify(`${id.toUpperCase()}.peer.test`, undefined, 'label', limits)).toMatch(/node id label/)
  })
})
