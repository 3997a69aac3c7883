// The duration rule (issue 16, item 6): every public option that is a duration is in milliseconds
// with an `Ms` suffix. Checked on what users see: the API reports (packages/*/api/*.api.md, the
// public surface of every entry point) and the keys of the CLI configuration file schema. A member
// is a duration when its name reads as one (DURATION) or when its doc comment in the package's
// source gives its unit in ms or seconds (TIME_UNIT: that caught `StartOptions.stats`, seconds,
// and `chatter`, ms, whose names say nothing). An old name is allowed only as a deprecated alias
// (`// @deprecated` in the report); the exceptions below are deliberate and each says why, so a
// new duration option without `Ms` fails here.
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../src/published.js'

/** Names that read as a duration. */
const DURATION =
  /(timeout|interval|delay|ttl|after|grace|debounce|hysteresis|window|duration|period|linger)$/i

/**
 * Doc comment wording that gives a value's unit as a time: `ms`, `milliseconds`, `seconds`. Not
 * `second` alone, so that rates and spacings (`per second`, `one second apart`) are not durations.
 */
const TIME_UNIT = /\b(ms|milliseconds?|seconds)\b/i

/** `Type.member` (or a config key `file:key`) that is a duration-like name on purpose, and why. */
const EXCEPTIONS: Record<string, string> = {
  // whole seconds on the wire, documented (.changeset/durations-ms.md, the CLI README)
  'EtcdDiscoveryOptions.ttl': 'etcd lease TTL, whole seconds',
  'MdnsDiscoveryOptions.ttl': 'mDNS record TTL, whole seconds (RFC 6762)',
  'MdnsDiscoveryOptions.serviceTtl': 'mDNS PTR/TXT TTL, whole seconds (RFC 6762)',
  'config/etcd.ts:ttl': 'etcd lease TTL, whole seconds',
  'config/mdns.ts:ttl': 'mDNS record TTL, whole seconds',
  // not durations
  'TransportTuning.maxConnectionWindow': 'bytes (QUIC flow-control window)',
  'TransportTuning.maxStreamWindow': 'bytes (QUIC flow-control window)',
  // a deprecated alias nested in an inline object type (the report shows no @deprecated there)
  'NodeOptions.dialTimeout': 'deprecated alias of registry.dialTimeoutMs',
}

/**
 * The doc comments of the members of the interfaces and type aliases declared in `sources`, by
 * `Type.member`; members of nested object types are listed under the top type, as the API report
 * shows them (two members of one name: both comments).
 */
function memberDocs(sources: readonly { file: string; text: string }[]): Map<string, string> {
  const docs = new Map<string, string>()
  for (const { file, text } of sources) {
    const visit = (node: ts.Node, owner: string | undefined): void => {
      if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) owner = node.name.text
      else if (owner !== undefined && ts.isPropertySignature(node) && ts.isIdentifier(node.name)) {
        const key = `${owner}.${node.name.text}`
        const comments = ts.getLeadingCommentRanges(text, node.pos) ?? []
        const doc = comments.map((c) => text.slice(c.pos, c.end)).join('\n')
        docs.set(key, docs.has(key) ? `${docs.get(key)}\n${doc}` : doc)
      }
      ts.forEachChild(node, (child) => visit(child, owner))
    }
    visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true), undefined)
  }
  return docs
}

/** The source files of a package (`packages/<pkg>/src`, recursively), for {@link memberDocs}. */
async function packageSources(pkg: string): Promise<{ file: string; text: string }[]> {
  const sources: { file: string; text: string }[] = []
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) await visit(path)
      else if (/\.ts$/.test(entry.name)) sources.push({ file: path, text: await readFile(path, 'utf8') })
    }
  }
  await visit(join(repoRoot, 'packages', pkg, 'src'))
  return sources
}

/**
 * Members of option-like interfaces (`*Options`, `DiscoveryHarness`, `TransportTuning`) that are
 * numbers and durations: by name (DURATION), or by the unit their doc comment in `docs` gives
 * (TIME_UNIT).
 */
function durationMembers(
  report: string,
  docs: ReadonlyMap<string, string> = new Map(),
): { name: string; deprecated: boolean }[] {
  const found: { name: string; deprecated: boolean }[] = []
  const lines = report.split('\n')
  let owner: string | undefined
  for (const [i, line] of lines.entries()) {
    const head = /^export (?:interface|type) (\w+)/.exec(line)
    if (head) {
      const name = head[1]!
      owner = /Options$|^DiscoveryHarness$|^TransportTuning$/.test(name) ? name : undefined
      continue
    }
    if (line === '}') owner = undefined
    if (owner === undefined) continue
    const member = /^\s+(?:readonly )?(\w+)\??: number(?: \| undefined)?;$/.exec(line)
    if (!member || member[1]!.endsWith('Ms')) continue
    const name = `${owner}.${member[1]}`
    if (!DURATION.test(member[1]!) && !TIME_UNIT.test(docs.get(name) ?? '')) continue
    found.push({ name, deprecated: /@deprecated/.test(lines[i - 1] ?? '') })
  }
  return found
}

describe('the duration rule: milliseconds, `Ms` suffix', () => {
  it('finds a duration option without Ms, and lets a deprecated alias pass', () => {
    const report = [
      'export interface XOptions {',
      '    // @deprecated (undocumented)',
      '    staleAfter?: number;',
      '    staleAfterMs?: number;',
      '    retryDelay?: number | undefined;',
      '    maxPeers?: number;',
      '}',
      'export interface XStats {',
      '    timeouts: number;',
      '    lastTimeout: number;',
      '}',
    ].join('\n')
    expect(durationMembers(report)).toEqual([
      { name: 'XOptions.staleAfter', deprecated: true },
      { name: 'XOptions.retryDelay', deprecated: false },
    ])
  })

  it('finds a duration option by the unit its doc comment gives, not by rates or spacings in seconds', () => {
    const source = [
      'export interface YOptions {',
      '  /** Print a line every this many seconds. */',
      '  every?: number',
      '  /** Traffic to every peer every this many ms, and a ping once a second. */',
      '  chatter?: number',
      '  /** Nested, as the report shows them under the top type. */',
      '  lanes?: {',
      '    /** Quiet time before a lane closes, in milliseconds. */',
      '    quiet?: number',
      '  }',
      '  /** Announcements, one second apart. */',
      '  announcements?: number',
      '  /** Packets accepted per second. */',
      '  maxPacketsPerSecond?: number',
      '  /** @deprecated Use `statsMs`; `stats` is in seconds. */',
      '  stats?: number',
      '  /** Stats interval, ms. */',
      '  statsMs?: number',
      '}',
    ].join('\n')
    const report = [
      'export interface YOptions {',
      '    announcements?: number;',
      '    chatter?: number;',
      '    every?: number;',
      '    lanes?: {',
      '        quiet?: number;',
      '    };',
      '    maxPacketsPerSecond?: number;',
      '    // @deprecated',
      '    stats?: number;',
      '    statsMs?: number;',
      '}',
    ].join('\n')
    expect(durationMembers(report, memberDocs([{ file: 'y.ts', text: source }]))).toEqual([
      { name: 'YOptions.chatter', deprecated: false },
      { name: 'YOptions.every', deprecated: false },
      { name: 'YOptions.quiet', deprecated: false },
      { name: 'YOptions.stats', deprecated: true },
    ])
    // without the doc comments, none of these names reads as a duration
    expect(durationMembers(report)).toEqual([])
  })

  it('every public duration option in the API reports is in ms with an Ms suffix (or a deprecated alias)', async () => {
    const offenders: string[] = []
    for (const pkg of await readdir(join(repoRoot, 'packages'))) {
      const dir = join(repoRoot, 'packages', pkg, 'api')
      const docs = memberDocs(await packageSources(pkg))
      for (const file of await readdir(dir).catch(() => [])) {
        if (!file.endsWith('.api.md')) continue
        for (const { name, deprecated } of durationMembers(await readFile(join(dir, file), 'utf8'), docs))
          if (!deprecated && EXCEPTIONS[name] === undefined) offenders.push(`${pkg}/api/${file}: ${name}`)
      }
    }
    expect(offenders).toEqual([])
  })

  it('every duration key of the CLI configuration file schema is in ms with an Ms suffix', async () => {
    const src = join(repoRoot, 'packages', 'cli', 'src')
    const files = ['config.ts', ...(await readdir(join(src, 'config'))).map((f) => `config/${f}`)]
    const offenders: string[] = []
    for (const file of files) {
      const text = await readFile(join(src, file), 'utf8')
      // zod object keys: `  name: z.…` / `  name: millis…`
      for (const m of text.matchAll(/^\s+(\w+): (?:z\.|millis)/gm)) {
        const key = m[1]!
        if (DURATION.test(key) && !key.endsWith('Ms') && EXCEPTIONS[`${file}:${key}`] === undefined)
          offenders.push(`${file}: ${key}`)
      }
    }
    expect(offenders).toEqual([])
  })
})

// Files that mix several concepts are split (issue 16, item 10): no source file over about 500
// lines. The limit leaves a little slack over 500 so that a small fix does not force a split.
const MAX_SOURCE_LINES = 550

describe('source files stay small', () => {
  it(`no packages/*/src file over ${MAX_SOURCE_LINES} lines`, async () => {
    const long: string[] = []
    const visit = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) await visit(path)
        else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) {
          const lines = (await readFile(path, 'utf8')).split('\n').length
          if (lines > MAX_SOURCE_LINES) long.push(`${path.slice(repoRoot.length + 1)}: ${lines} lines`)
        }
      }
    }
    for (const pkg of await readdir(join(repoRoot, 'packages')))
      await visit(join(repoRoot, 'packages', pkg, 'src'))
    expect(long).toEqual([])
  })
})

// Comments are read in editors and diffs at the formatter's width (biome.json: 110); the formatter
// wraps code but never comments, so a comment line past it is a slip that only a check catches.
const MAX_COMMENT_COLUMNS = 110
const COMMENT_LINE = /^\s*(\/\/|\/\*\*|\*)/

describe('comments stay within the line width', () => {
  it('finds a long comment line, and leaves long code and strings to the formatter', () => {
    const long = `  // ${'word '.repeat(30)}`
    const code = `  const message = '${'x'.repeat(120)}'`
    expect(
      [long, code, `   * ${'a '.repeat(60)}`].filter((l) => l.length > 110 && COMMENT_LINE.test(l)),
    ).toHaveLength(2)
  })

  it(`no comment line in packages/*/src over ${MAX_COMMENT_COLUMNS} columns`, async () => {
    const long: string[] = []
    const visit = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) await visit(path)
        else if (/\.(ts|mts)$/.test(entry.name)) {
          const lines = (await readFile(path, 'utf8')).split('\n')
          lines.forEach((line, i) => {
            if (line.length > MAX_COMMENT_COLUMNS && COMMENT_LINE.test(line))
              long.push(`${path.slice(repoRoot.length + 1)}:${i + 1}: ${line.length} columns`)
          })
        }
      }
    }
    for (const pkg of await readdir(join(repoRoot, 'packages')))
      await visit(join(repoRoot, 'packages', pkg, 'src'))
    expect(long).toEqual([])
  })
})

// The Node.js matrix of `npm test` (tooling/scripts/node-matrix.mjs) names test files and
// directories by path: a renamed or split file would drop out of it silently (it did once, when
// peer-registry.test.ts was split).
describe('the Node.js matrix', () => {
  it('names only test files and directories that exist', async () => {
    const script = pathToFileURL(join(repoRoot, 'tooling', 'scripts', 'node-matrix.mjs')).href
    const { MATRIX_TESTS } = (await import(script)) as { MATRIX_TESTS: string[] }
    expect(MATRIX_TESTS.length).toBeGreaterThan(10)
    const missing: string[] = []
    for (const path of MATRIX_TESTS) {
      const found = await stat(join(repoRoot, path)).catch(() => undefined)
      if (found === undefined || found.isDirectory() !== path.endsWith('/')) missing.push(path)
    }
    expect(missing).toEqual([])
  })
})
