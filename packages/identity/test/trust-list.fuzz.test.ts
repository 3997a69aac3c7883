// Fuzz: trust list files (TrustList.load and reload), fed valid files in several layouts, text
// mutations and fields replaced by any JSON value. Invariants: only TrustListFileError naming the
// file and the field; an accepted list holds valid, unique ids and clean labels; a valid file
// round-trips (file -> list -> save -> list); a failed reload changes nothing and emits nothing;
// bounded time. See docs/fuzzing.md.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isNodeId } from '@peer/discovery-core'
import { fuzzParams, fuzzRuns, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { nodeIdArb } from '@peer/testkit/fuzz-arbitraries'
import {
  expectDocumentedError,
  fieldReplaced,
  mutatedText,
  withinCaseBoundAsync,
} from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_LABEL_LENGTH, type TrustEntry, TrustList, TrustListFileError } from '../src/index.js'

/** Saves sync to disk: 50 cases in CI, at most 200 in the long run. */
const SAVE_RUNS = Math.min(fuzzRuns(50), 200)

/** Reading files shares the disk with the rest of the machine: a looser bound than in-memory parsers. */
const FILE_CASE_MS = 1000

let dir: string
let file: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `peer-trust-fuzz-${process.pid}-`))
  file = join(dir, 'trust.json')
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const FIELD = /^(|version|peers|peers\[\d+\](\.(id|label|addedAt))?)$/

const labelArb = fc.string({ maxLength: 40 }).filter((l) => !/[\u0000-\u001f\u007f-\u009f]/.test(l))
const dateArb = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString())
const entriesArb = fc.uniqueArray(
  fc.record({ id: nodeIdArb, label: labelArb, addedAt: dateArb }, { requiredKeys: ['id'] }),
  { maxLength: 8, selector: (e) => e.id },
)
/** A valid file: entries in any key order, compact or indented. */
const fileArb = fc
  .tuple(entriesArb, fc.constantFrom(0, 2, '\t'), fc.boolean())
  .map(([entries, indent, reversed]) => {
    const peers = entries.map((e) => (reversed ? Object.fromEntries(Object.entries(e).reverse()) : e))
    return { entries, text: JSON.stringify({ version: 1, peers }, null, indent) }
  })

/** A valid file with one field replaced by any JSON value (or removed). */
const fieldMutatedArb = fieldReplaced(
  fileArb.map(({ text }) => JSON.parse(text) as unknown),
  ['version', 'peers', 'peers.0', 'peers.0.id', 'peers.0.label', 'peers.0.addedAt', 'peers.1.id'],
).map((doc) => JSON.stringify(doc))

/** A valid file with one entry repeated (same id, maybe another label). */
const duplicatedArb = fc
  .tuple(
    entriesArb.filter((e) => e.length > 0),
    fc.nat(),
    fc.nat(),
    labelArb,
  )
  .map(([entries, from, to, label]) => {
    const peers: object[] = [...entries]
    peers.splice(to % (peers.length + 1), 0, { ...entries[from % entries.length]!, label })
    return JSON.stringify({ version: 1, peers })
  })

async function loadChecked(text: string): Promise<TrustList | undefined> {
  await writeFile(file, text)
  try {
    const list = await withinCaseBoundAsync(() => TrustList.load(file), FILE_CASE_MS)
    // nothing in an accepted file is dropped silently (e.g. a duplicate id)
    expect(list.size).toBe((JSON.parse(text) as { peers: unknown[] }).peers.length)
    const seen = new Set<string>()
    for (const e of list.list()) {
      expect(isNodeId(e.id)).toBe(true)
      expect(seen.has(e.id)).toBe(false)
      seen.add(e.id)
      if (e.label !== undefined) {
        expect(typeof e.label).toBe('string')
        expect(e.label.length).toBeLessThanOrEqual(MAX_LABEL_LENGTH)
        expect(/[\u0000-\u001f\u007f-\u009f]/.test(e.label)).toBe(false)
      }
      expect(Number.isNaN(Date.parse(e.addedAt))).toBe(false)
      expect(Object.isFrozen(e)).toBe(true)
    }
    return list
  } catch (error) {
    const e = expectDocumentedError(error, TrustListFileError)
    expect(e.path).toBe(file)
    expect(e.field).toMatch(FIELD)
    expect(e.message.startsWith(`trust list ${file}: ${e.field ? `${e.field}: ` : ''}`)).toBe(true)
    return undefined
  }
}

const strip = (entries: readonly TrustEntry[]) =>
  entries.map((e) => ({ id: e.id, ...(e.label === undefined ? {} : { label: e.label }), addedAt: e.addedAt }))

describe('trust list files (fuzz)', () => {
  it(
    'valid files load to exactly their entries',
    async () => {
      await fc.assert(
        fc.asyncProperty(fileArb, async ({ entries, text }) => {
          const list = await loadChecked(text)
          expect(list).toBeDefined()
          const got = strip(list!.list())
          expect(got.map((e) => e.id)).toEqual(entries.map((e) => e.id))
          got.forEach((e, i) => {
            expect(e.label).toBe(entries[i]!.label)
            if (entries[i]!.addedAt !== undefined) expect(e.addedAt).toBe(entries[i]!.addedAt)
          })
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(2000, 10),
  )

  it(
    'load -> save -> load round-trips (few cases: each save syncs the file to disk)',
    async () => {
      await fc.assert(
        fc.asyncProperty(fileArb, async ({ text }) => {
          const list = (await loadChecked(text))!
          const saved = join(dir, 'saved.json')
          await list.save(saved)
          expect(strip((await TrustList.load(saved)).list())).toEqual(strip(list.list()))
        }),
        fuzzParams(50, { numRuns: SAVE_RUNS }),
      )
    },
    Math.max(60_000, SAVE_RUNS * 200),
  )

  it(
    'mutated files and replaced fields: a clean list or TrustListFileError naming the file and field',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            mutatedText(
              fileArb.map((f) => f.text),
              5,
            ),
            fieldMutatedArb,
            duplicatedArb,
            fc.string({ maxLength: 100 }),
          ),
          async (text) => void (await loadChecked(text)),
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(2000, 10),
  )

  it(
    'a reload from a bad file changes nothing and emits nothing; from a good one it becomes the file',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fileArb,
          fc.oneof(
            mutatedText(
              fileArb.map((f) => f.text),
              5,
            ),
            fieldMutatedArb,
            duplicatedArb,
          ),
          async (first, next) => {
            const list = (await loadChecked(first.text))!
            const before = strip(list.list())
            let events = 0
            list.addEventListener('trust:added', () => events++)
            list.addEventListener('trust:removed', () => events++)
            const expected = await loadChecked(next)
            await writeFile(file, next)
            try {
              await list.reload(file)
              expect(new Set(list.list().map((e) => e.id))).toEqual(
                new Set(expected!.list().map((e) => e.id)),
              )
            } catch (error) {
              expectDocumentedError(error, TrustListFileError)
              expect(expected).toBeUndefined()
              expect(strip(list.list())).toEqual(before)
              expect(events).toBe(0)
            }
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(2000, 10),
  )
})
