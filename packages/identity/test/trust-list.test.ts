import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, InvalidNodeIdError } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { recordEvents } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IdentityConfigError, TrustList, TrustListFileError, TrustListFullError } from '../src/index.js'

let dir: string
let n = 0
const file = () => join(dir, `trust-${n++}.json`)
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `peer-trust-${process.pid}-`))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const a = testId('a')
const b = testId('b')
const c = testId('c')

async function loadError(content: string): Promise<TrustListFileError> {
  const path = file()
  await writeFile(path, content)
  try {
    await TrustList.load(path)
  } catch (error) {
    expect(error).toBeInstanceOf(TrustListFileError)
    return error as TrustListFileError
  }
  throw new Error('expected a rejection')
}

describe('TrustList', () => {
  it('adds, contains, labels and removes, emitting events', () => {
    const list = new TrustList()
    const rec = recordEvents(list, ['trust:added', 'trust:removed'])
    expect(list.add(a, { label: 'node-a' })).toBe(true)
    expect(list.add(b)).toBe(true)
    expect(list.add(a, { label: 'renamed' })).toBe(false)
    expect(list.has(a) && list.contains(b)).toBe(true)
    expect(list.has(c)).toBe(false)
    expect(list.get(a)?.label).toBe('renamed')
    expect(list.size).toBe(2)
    expect(list.predicate(b)).toBe(true)
    expect(list.remove(b)).toBe(true)
    expect(list.remove(b)).toBe(false)
    expect(list.predicate(b)).toBe(false)
    expect(rec.of('trust:added').map((e) => (e.detail as { entry: { id: string } }).entry.id)).toEqual([a, b])
    expect(rec.of('trust:removed').map((e) => (e.detail as { entry: { id: string } }).entry.id)).toEqual([b])
  })

  it('hands out frozen entries, also after a label update', () => {
    const list = new TrustList([
      { id: a, label: 'node-a' },
      { id: b, label: 'node-b' },
    ])
    list.add(a, { label: 'renamed' })
    list.replace([
      { id: a, label: 'renamed' },
      { id: b, label: 'bee' },
    ])
    list.add(b, { label: 'bee again' })
    for (const entry of [list.get(a)!, list.get(b)!, ...list.list()]) {
      expect(Object.isFrozen(entry)).toBe(true)
      expect(() => {
        ;(entry as { label?: string }).label = 'tampered'
      }).toThrow(TypeError)
    }
    expect(list.get(a)?.label).toBe('renamed')
    expect(list.get(b)?.label).toBe('bee again')
  })

  it('replace gives kept ids the new label, clearing it when the entry has none', () => {
    const list = new TrustList([
      { id: a, label: 'node-a' },
      { id: b, label: 'node-b' },
    ])
    const addedAt = list.get(a)!.addedAt
    const rec = recordEvents(list, ['trust:added', 'trust:removed'])
    list.replace([{ id: a }, { id: b, label: 'bee' }])
    expect(list.get(a)).toEqual({ id: a, addedAt })
    expect('label' in list.get(a)!).toBe(false)
    expect(list.get(b)?.label).toBe('bee')
    expect(Object.isFrozen(list.get(a))).toBe(true)
    expect(rec.events).toEqual([])
  })

  it('rejects malformed ids and labels', () => {
    const list = new TrustList()
    expect(() => list.add('not-an-id')).toThrow(InvalidNodeIdError)
    expect(() => list.add(a, { label: 'x'.repeat(201) })).toThrow(/longer than 200/)
    expect(() => list.add(a, { label: 'bad\nlabel' })).toThrow(/control characters/)
    expect(list.size).toBe(0)
  })

  it('names the entry the constructor refused, and refuses a string or a non-iterable for entries', () => {
    expect(() => new TrustList([a, 'abc'])).toThrow(InvalidNodeIdError)
    expect(() => new TrustList([a, 'abc'])).toThrow('entries[1]: node id must be 52 characters, got 3')
    expect(() => new TrustList([{ id: a }, { id: 'x', label: 'l' }])).toThrow(/^entries\[1\]: /)
    // a path or a single id is not a list of one-letter ids
    for (const entries of ['./trust.json', a]) {
      expect(() => new TrustList(entries as never)).toThrow(IdentityConfigError)
      expect(() => new TrustList(entries as never)).toThrow(/TrustList\.load\(path\), for one id \[id\]/)
    }
    expect(() => new TrustList(5 as never)).toThrow(/got number/)
  })

  it('is bounded by maxEntries', () => {
    const list = new TrustList([a, b], { maxEntries: 2 })
    expect(() => list.add(c)).toThrow(TrustListFullError)
    expect(list.add(a)).toBe(false) // re-adding an existing id is fine when full
    expect(() => list.replace([{ id: a }, { id: b }, { id: c }])).toThrow(TrustListFullError)
    expect(list.size).toBe(2)
  })

  it('isolates a throwing listener', () => {
    const list = new TrustList()
    list.addEventListener('trust:added', () => {
      throw new Error('boom')
    })
    expect(() => list.add(a)).not.toThrow()
    expect(list.listenerErrors).toBe(1)
    expect(list.has(a)).toBe(true)
  })

  it('saves and loads the documented JSON format', async () => {
    const list = new TrustList([{ id: a, label: 'node-a' }, b])
    const path = file()
    await list.save(path)
    const doc = JSON.parse(await readFile(path, 'utf8'))
    expect(doc.version).toBe(1)
    expect(doc.peers).toHaveLength(2)
    expect(doc.peers[0]).toMatchObject({ id: a, label: 'node-a' })
    expect(typeof doc.peers[0].addedAt).toBe('string')
    const loaded = await TrustList.load(path)
    expect(loaded.list()).toEqual(list.list())
  })

  it('loads a hand-written file with only ids', async () => {
    const path = file()
    await writeFile(path, JSON.stringify({ version: 1, peers: [{ id: a }, { id: b, label: 'b' }] }))
    const list = await TrustList.load(path)
    expect(list.list().map((e) => e.id)).toEqual([a, b])
  })

  it('reload applies the difference with events', async () => {
    const path = file()
    await new TrustList([a, b]).save(path)
    const list = await TrustList.load(path)
    const rec = recordEvents(list, ['trust:added', 'trust:removed'])
    await writeFile(path, JSON.stringify({ version: 1, peers: [{ id: b, label: 'bee' }, { id: c }] }))
    await list.reload(path)
    expect(rec.events.map((e) => `${e.type} ${(e.detail as { entry: { id: string } }).entry.id}`)).toEqual([
      `trust:removed ${a}`,
      `trust:added ${c}`,
    ])
    expect(list.get(b)?.label).toBe('bee')
    // an entry without a label in the file clears the label
    await writeFile(path, JSON.stringify({ version: 1, peers: [{ id: b }, { id: c }] }))
    await list.reload(path)
    expect(list.get(b)?.label).toBeUndefined()
    expect(list.toJSON().peers.find((e) => e.id === b)).not.toHaveProperty('label')
  })

  it('reports a missing file', async () => {
    await expect(TrustList.load(join(dir, 'nope.json'))).rejects.toThrow(/file does not exist/)
  })

  it('reports invalid JSON', async () => {
    expect((await loadError('{"version": 1, "peers": [')).message).toMatch(/not valid JSON/)
  })

  it('reports a wrong shape or version', async () => {
    expect((await loadError('[]')).message).toMatch(/must be a JSON object/)
    expect((await loadError('{"version": 2, "peers": []}')).field).toBe('version')
    expect((await loadError('{"version": 1}')).field).toBe('peers')
    expect((await loadError('{"version": 1, "peers": [42]}')).field).toBe('peers[0]')
  })

  it('reports a bad id, naming the entry', async () => {
    const error = await loadError(JSON.stringify({ version: 1, peers: [{ id: a }, { id: 'XYZ' }] }))
    expect(error.field).toBe('peers[1].id')
    expect(error.message).toMatch(/52 characters/)
  })

  it('reports duplicates, bad labels and bad dates', async () => {
    expect((await loadError(JSON.stringify({ version: 1, peers: [{ id: a }, { id: a }] }))).message).toMatch(
      /duplicate id/,
    )
    expect((await loadError(JSON.stringify({ version: 1, peers: [{ id: a, label: 7 }] }))).field).toBe(
      'peers[0].label',
    )
    expect((await loadError(JSON.stringify({ version: 1, peers: [{ id: a, addedAt: 'soon' }] }))).field).toBe(
      'peers[0].addedAt',
    )
  })

  it('reports a file with more entries than allowed', async () => {
    const path = file()
    await new TrustList([a, b, c]).save(path)
    await expect(TrustList.load(path, { maxEntries: 2 })).rejects.toThrow(/has 3 entries, at most 2/)
  })
})

describe('options and signals', () => {
  it('rejects a bad maxEntries with IdentityConfigError, a ConfigError', () => {
    expect(() => new TrustList([], { maxEntries: -1 })).toThrow(IdentityConfigError)
    expect(() => new TrustList([], { maxEntries: 1.5 })).toThrow(ConfigError)
  })

  it('load, reload and save reject with AbortError on an aborted signal and write nothing', async () => {
    const path = file()
    const list = new TrustList([a])
    const signal = AbortSignal.abort()
    await expect(list.save(path, { signal })).rejects.toMatchObject({ name: 'AbortError' })
    await expect(readFile(path, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' })
    await list.save(path)
    await expect(TrustList.load(path, { signal })).rejects.toMatchObject({ name: 'AbortError' })
    await expect(list.reload(path, { signal })).rejects.toMatchObject({ name: 'AbortError' })
    expect((await TrustList.load(path)).has(a)).toBe(true)
  })
})
