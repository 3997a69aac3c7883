// Examples written in TypeScript must run under Node's own type stripping
// (`node --experimental-strip-types`, Node >= 22.6): only erasable syntax, so no parameter
// properties, enums, runtime namespaces or `import x = require()`.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../src/published.js'

/** The constructs of `code` that type stripping cannot erase, as `line: text`. */
export function nonErasable(fileName: string, code: string): string[] {
  const source = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const report = (node: ts.Node, what: string) =>
    found.push(`${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${what}`)
  const visit = (node: ts.Node): void => {
    const declared =
      ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword)
    if (ts.isParameter(node) && ts.isConstructorDeclaration(node.parent) && ts.getModifiers(node)?.length)
      report(node, 'parameter property')
    else if (ts.isEnumDeclaration(node) && !declared) report(node, 'enum')
    else if (ts.isModuleDeclaration(node) && !declared && node.body && ts.isModuleBlock(node.body))
      report(node, 'namespace')
    else if (ts.isImportEqualsDeclaration(node) && !node.isTypeOnly) report(node, 'import = require()')
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

const tsExamples: string[] = []
for (const dir of await readdir(join(repoRoot, 'packages'))) {
  const files = await readdir(join(repoRoot, 'packages', dir, 'examples')).catch(() => [])
  for (const file of files) if (/\.m?ts$/.test(file)) tsExamples.push(join('packages', dir, 'examples', file))
}

describe('TypeScript examples use only erasable syntax', () => {
  it('finds what type stripping rejects', () => {
    expect(
      nonErasable(
        'x.ts',
        'class A { constructor(private a: string, b: number) {} }\nenum E { X }\nnamespace N { export const x = 1 }\n',
      ),
    ).toEqual(['1: parameter property', '2: enum', '3: namespace'])
    expect(
      nonErasable(
        'y.ts',
        'declare enum E { X }\nclass A { #a: string; constructor(a: string) { this.#a = a } }',
      ),
    ).toEqual([])
  })

  it.each(tsExamples)('%s', async (path) => {
    expect(nonErasable(path, await readFile(join(repoRoot, path), 'utf8'))).toEqual([])
  })
})
