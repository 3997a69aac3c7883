// createNode's options of the wrong kind: a ConfigError naming the option and what it takes (a
// JavaScript caller, or a config file spread into the options, used to get a TypeError from deep
// inside or an InvalidNodeIdError for what was never a node id); unknown names are warned about.

import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '@peer/discovery-core'
import { generateIdentity, type Identity, TrustList } from '@peer/identity'
import { testId } from '@peer/testkit/ids'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNode, type NodeOptions } from '../src/index.js'
import { NODE_OPTION_KEYS } from '../src/option-shapes.js'

let identity: Identity
let dir: string
beforeAll(async () => {
  identity = await generateIdentity()
  dir = await mkdtemp(join(tmpdir(), 'peer-options-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const refusal = async (options: unknown) => {
  const error = await createNode(options as NodeOptions).then(
    async (node) => {
      await node.stop()
      return new Error('it started')
    },
    (e: Error) => e,
  )
  expect(error).toBeInstanceOf(ConfigError)
  return error as ConfigError
}

describe('createNode refuses options of the wrong kind, naming the option and what it takes', () => {
  it.each([
    ['no options', undefined, undefined, /the options must be an object; got undefined/],
    ['an array', [], undefined, /the options must be an object; got an array of 0/],
    ['no trust', {}, 'trust', /`trust` is required/],
    [
      'a trust path',
      { trust: './trust.json' },
      'trust',
      /`trust` is a string \("\.\/trust\.json"\).*TrustList\.load\(path\)/,
    ],
    ['a number as trust', { trust: 5 }, 'trust', /an iterable of node ids or 'all'; got number 5/],
    ['an object as trust', { trust: { ids: [] } }, 'trust', /got an object with keys ids/],
    [
      'a bad id in trust',
      { trust: [testId('a'), 'abc'] },
      'trust[1]',
      /trust\[1\]: node id must be 52 characters, got 3/,
    ],
    [
      'a number as identity',
      { trust: [], identity: 42 },
      'identity',
      /`identity` must be an Identity .*; got number 42/,
    ],
    ['an empty path', { trust: [], identity: '' }, 'identity', /got the string ""/],
    ['an object as identity', { trust: [], identity: { id: 'x' } }, 'identity', /got an object with keys id/],
    [
      'a CLI discovery entry',
      { trust: [], discovery: [{ backend: 'static' }] },
      'discovery[0]',
      /`discovery\[0\]` is not a discovery backend.*CLI config format/,
    ],
    [
      'a class, not an instance',
      { trust: [], discovery: ManualBackend },
      'discovery',
      /`discovery` is not a discovery backend .*; got the function ManualBackend \(a class\? pass an instance: new ManualBackend\(\.\.\.\)\)/,
    ],
    [
      'a backend written by hand without lookup and started',
      {
        trust: [],
        discovery: [
          Object.assign(new EventTarget(), {
            source: 'mine',
            capabilities: new Set(['list']),
            start: async () => {},
            stop: async () => {},
          }),
        ],
      },
      'discovery[0]',
      /`discovery\[0\]` is not a discovery backend .*\(started is not a boolean, lookup is not a function\)$/,
    ],
    [
      'a listen string',
      { trust: [], listen: '127.0.0.1:4000' },
      'listen',
      /`listen` must be an object, e\.g\. \{ host: '127\.0\.0\.1', port: 4000 \}/,
    ],
    [
      'a port out of range',
      { trust: [], listen: { port: 70_000 } },
      'listen.port',
      /from 0 \(any free port\) to 65535; got number 70000/,
    ],
    ['a port as a string', { trust: [], listen: { port: '4000' } }, 'listen.port', /got the string "4000"/],
    ['an empty host', { trust: [], listen: { host: '' } }, 'listen.host', /non-empty string/],
    [
      'one address, not a list',
      { trust: [], announce: { host: '127.0.0.1', port: 1 } },
      'announce',
      /must be an array/,
    ],
    [
      'an address without host',
      { trust: [], announce: [{ port: 1 }] },
      'announce',
      /an address needs a host/,
    ],
    ['meta as a string', { trust: [], meta: 'zone=a' }, 'meta', /an object of strings/],
    ['a logger object', { trust: [], logger: console }, 'logger', /a LoggerFactory/],
    ['registry as a number', { trust: [], registry: 3 }, 'registry', /an object of settings/],
  ])('%s', async (_, options, option, message) => {
    const error = await refusal(options)
    expect(error.option).toBe(option)
    expect(error.message).toMatch(message)
  })

  it('accepts each kind it documents: ids in a Set, a TrustList, a directory path, a port alone', async () => {
    const other = await generateIdentity()
    const path = join(dir, 'identity')
    for (const options of [
      { trust: new Set([other.id]), identity },
      { trust: new TrustList([other.id]), identity, listen: { port: 0 } },
      { trust: [other.id], identity: path, discovery: [new ManualBackend()] },
    ] as NodeOptions[]) {
      const node = await createNode(options)
      expect(node.trust?.has(other.id)).toBe(true)
      await node.stop()
    }
    // a one-shot iterable is read once, by the trust list
    const ids = function* () {
      yield other.id
    }
    const node = await createNode({ trust: ids(), identity })
    expect(node.trust?.has(other.id)).toBe(true)
    await node.stop()
    expect(await readFile(join(path, 'node.key'), 'utf8')).toContain('PRIVATE KEY')
  })
})

describe('unknown options', () => {
  it('are ignored with one warning per name, suggesting a known option within two edits', async () => {
    const warnings: string[] = []
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === 'PEER_UNKNOWN_OPTION') warnings.push(w.message)
    }
    process.on('warning', onWarning)
    try {
      for (let i = 0; i < 2; i++) {
        const node = await createNode({
          identity,
          trust: [],
          requestTimoutMs: 5,
          MaxConnections: 2,
          somethingElse: true,
        } as NodeOptions)
        await node.stop()
      }
      await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on the next tick
      expect(warnings.sort()).toEqual([
        'createNode: unknown option `MaxConnections` is ignored; did you mean `maxConnections`?',
        'createNode: unknown option `requestTimoutMs` is ignored; did you mean `requestTimeoutMs`?',
        'createNode: unknown option `somethingElse` is ignored',
      ])
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('the known names are exactly the options of NodeOptions (from the API report)', async () => {
    const report = await readFile(new URL('../api/node.api.md', import.meta.url), 'utf8')
    const block = /^export interface NodeOptions \{\n([\s\S]*?)^\}/m.exec(report)![1]!
    const keys = [...block.matchAll(/^ {4}(\w+)\??:/gm)].map((m) => m[1]!)
    expect(keys.length).toBeGreaterThan(30)
    expect([...NODE_OPTION_KEYS].sort()).toEqual(keys.sort())
  })
})
