import { describe, expect, it } from 'vitest'
import {
  checkServiceMeta,
  decodeServiceList,
  encodeServiceList,
  InvalidServiceNameError,
  isServiceName,
  MAX_SERVICE_LIST_LENGTH,
  MAX_SERVICE_NAME_LENGTH,
  MAX_SERVICES,
  PeerError,
  SERVICES_META_KEY,
  ServiceListTooLargeError,
  servicesOf,
  validatePeerRecord,
} from '../src/index.js'

describe('service names', () => {
  it('accepts the grammar and nothing else', () => {
    for (const ok of ['kv', 'billing.v2', 'search-eu', 'a_b', '0', 'x'.repeat(MAX_SERVICE_NAME_LENGTH)])
      expect(isServiceName(ok)).toBe(true)
    for (const bad of [
      '',
      'KV',
      '-kv',
      '.kv',
      'k v',
      'a,b',
      'ké',
      'x'.repeat(MAX_SERVICE_NAME_LENGTH + 1),
      7,
      null,
    ])
      expect(isServiceName(bad)).toBe(false)
  })
})

describe('encodeServiceList (local input)', () => {
  it('sorts, removes duplicates, and is undefined for no names', () => {
    expect(encodeServiceList(['kv', 'billing', 'kv'])).toBe('billing,kv')
    expect(encodeServiceList([])).toBeUndefined()
  })

  it('throws named errors for a bad name or a list that is too large', () => {
    expect(() => encodeServiceList(['ok', 'Not OK'])).toThrow(InvalidServiceNameError)
    const many = Array.from({ length: MAX_SERVICES + 1 }, (_, i) => `s${i}`)
    expect(() => encodeServiceList(many)).toThrow(ServiceListTooLargeError)
    const long = Array.from({ length: 8 }, (_, i) => `${i}${'x'.repeat(40)}`)
    const error = (() => {
      try {
        encodeServiceList(long)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ServiceListTooLargeError)
    expect(error).toBeInstanceOf(PeerError)
    expect((error as Error).message).toContain(`above ${MAX_SERVICE_LIST_LENGTH}`)
  })

  it('fits a record: the encoded value passes validatePeerRecord', () => {
    const names = Array.from({ length: MAX_SERVICES }, (_, i) => `svc${String(i).padStart(3, '0')}`)
    const value = encodeServiceList(names)!
    const record = validatePeerRecord({
      id: 'a'.repeat(52),
      source: 'test',
      addresses: [{ host: '127.0.0.1', port: 1 }],
      meta: { [SERVICES_META_KEY]: value },
    })
    expect(servicesOf(record).services).toEqual(names)
  })
})

describe('decodeServiceList (network input)', () => {
  it('drops bad names one by one and counts them', () => {
    expect(decodeServiceList('kv,BAD,,billing,kv')).toEqual({
      services: ['billing', 'kv'],
      droppedNames: 2,
      droppedList: false,
    })
  })

  it('drops an oversized list or a non-string whole and says so', () => {
    expect(decodeServiceList('a,'.repeat(MAX_SERVICES) + 'a')).toEqual({
      services: [],
      droppedNames: 0,
      droppedList: true,
    })
    expect(decodeServiceList('x'.repeat(MAX_SERVICE_LIST_LENGTH + 1)).droppedList).toBe(true)
    expect(decodeServiceList(42).droppedList).toBe(true)
    expect(decodeServiceList(undefined)).toEqual({ services: [], droppedNames: 0, droppedList: false })
    expect(decodeServiceList('')).toEqual({ services: [], droppedNames: 0, droppedList: false })
  })

  it('reads the list from a record and ignores records without one', () => {
    expect(servicesOf({ meta: { services: 'kv' } }).services).toEqual(['kv'])
    expect(servicesOf({ meta: { other: 'kv' } }).services).toEqual([])
    expect(servicesOf({}).services).toEqual([])
  })
})

describe('checkServiceMeta', () => {
  it('keeps a valid list as it is, the same object', () => {
    const meta = { services: 'kv,billing.v2', zone: 'eu' }
    expect(checkServiceMeta(meta)).toEqual({ meta, droppedNames: 0, droppedList: false })
    expect(checkServiceMeta(meta).meta).toBe(meta)
    expect(checkServiceMeta(undefined)).toEqual({ meta: undefined, droppedNames: 0, droppedList: false })
  })

  it('removes bad names and counts them, and removes an oversized list whole', () => {
    expect(checkServiceMeta({ services: 'kv,Bad,,ok.v1', zone: 'eu' })).toEqual({
      meta: { services: 'kv,ok.v1', zone: 'eu' },
      droppedNames: 2,
      droppedList: false,
    })
    const tooMany = Array.from({ length: MAX_SERVICES + 1 }, (_, i) => `s${i}`).join(',')
    expect(checkServiceMeta({ services: tooMany, zone: 'eu' })).toEqual({
      meta: { zone: 'eu' },
      droppedNames: 0,
      droppedList: true,
    })
    expect(checkServiceMeta({ [SERVICES_META_KEY]: 'BAD' })).toEqual({
      meta: undefined,
      droppedNames: 1,
      droppedList: false,
    })
  })
})
