// Every `peer` command loads every command module (for --help and parsing), so those modules must
// not load the node, its QUIC engine or the discovery backends until a command runs that needs
// them: a static value import of one of these costs every `peer --help` about 0.7 s (load 5).
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { cliRoot } from './helpers.js'

const HEAVY = [
  '@peer/node',
  '@peer/transport-quic',
  '@peer/discovery-dns',
  '@peer/discovery-mdns',
  '@peer/discovery-etcd',
]

/** Static imports of a heavy package that bring in values (not `import type`). */
function valueImports(source: string): string[] {
  const found: string[] = []
  for (const m of source.matchAll(/^import\s+(type\s+)?([^;]*?)\s+from\s+'([^']+)'/gms)) {
    const [, typeOnly, clause, from] = m as unknown as [string, string | undefined, string, string]
    if (typeOnly !== undefined || !HEAVY.includes(from)) continue
    // `import { type A, type B } from` brings in nothing either
    const names = clause
      .replace(/^\{|\}$/g, '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    if (clause.startsWith('{') && names.every((n) => n.startsWith('type '))) continue
    found.push(`${from}: ${clause.replace(/\s+/g, ' ')}`)
  }
  return found
}

it('the finder sees a value import and ignores type-only ones', () => {
  expect(valueImports("import { type PeerNode, PeerUnavailableError } from '@peer/node'\n")).toHaveLength(1)
  expect(valueImports("import { createNode } from '@peer/node'\n")).toHaveLength(1)
  expect(valueImports("import type { PeerNode } from '@peer/node'\n")).toEqual([])
  expect(valueImports("import {\n  type A,\n  type B,\n} from '@peer/discovery-etcd'\n")).toEqual([])
})

it('no source file of the CLI imports the node, the engine or a network backend statically', async () => {
  const dir = join(cliRoot, 'src')
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.ts'))
  const offenders: string[] = []
  for (const f of files) {
    for (const found of valueImports(await readFile(join(dir, f), 'utf8'))) offenders.push(`${f}: ${found}`)
  }
  expect(offenders).toEqual([])
})
