import { describe, expect, it } from 'vitest'
import { formatNodeName, InvalidNodeNameError, isNodeName, parseNodeName } from '../src/index.js'

describe('parseNodeName', () => {
  it('parses Erlang short and long names', () => {
    expect(parseNodeName('app@box')).toEqual({ kind: 'name', name: 'app', host: 'box', long: false })
    expect(parseNodeName('app_1-x@box.example.com')).toEqual({
      kind: 'name',
      name: 'app_1-x',
      host: 'box.example.com',
      long: true,
    })
    expect(parseNodeName('app@10.0.0.7')).toMatchObject({ kind: 'name', long: true })
  })

  it('parses port@ip for IPv4 and IPv6, with or without brackets', () => {
    expect(parseNodeName('4000@127.0.0.1')).toEqual({ kind: 'port', port: 4000, ip: '127.0.0.1', family: 4 })
    expect(parseNodeName('65535@::1')).toEqual({ kind: 'port', port: 65535, ip: '::1', family: 6 })
    expect(parseNodeName('1@[fe80::1]')).toEqual({ kind: 'port', port: 1, ip: 'fe80::1', family: 6 })
  })

  it('round-trips through formatNodeName', () => {
    for (const s of ['app@box', 'a@b.c.d', '4000@127.0.0.1', '4000@::1']) {
      expect(formatNodeName(parseNodeName(s))).toBe(s)
    }
  })

  it.each([
    ['', 'empty'],
    ['app', "no '@'"],
    ['a@b@c', "more than one '@'"],
    ['@host', 'before'],
    ['app@', 'empty'],
    ['0@127.0.0.1', '1-65535'],
    ['65536@127.0.0.1', '1-65535'],
    ['0400@127.0.0.1', '1-65535'],
    ['4000@box', 'must be an IP'],
    ['app@[10.0.0.7]', 'brackets are only for IPv6'],
    ['4000@[10.0.0.7]', 'must be an IP'],
    ['4000@999.1.1.1', 'must be an IP'],
    ['ap p@host', 'whitespace'],
    ['app@ho\u0000st', 'control'],
    ['a.b@host', 'may contain only'],
    ['app@-bad.example', 'label'],
    ['app@300.1.1.1', 'IPv4'],
    ['app@::zz', 'IPv6'],
    [`app@${'a'.repeat(300)}`, 'longer than'],
  ])('rejects %j with a clear reason (%s)', (input, reason) => {
    expect(() => parseNodeName(input)).toThrow(InvalidNodeNameError)
    expect(() => parseNodeName(input)).toThrow(reason)
    expect(isNodeName(input)).toBe(false)
  })

  it('rejects non-strings without crashing', () => {
    expect(() => parseNodeName(42 as unknown as string)).toThrow(InvalidNodeNameError)
    expect(isNodeName(null)).toBe(false)
  })
})
