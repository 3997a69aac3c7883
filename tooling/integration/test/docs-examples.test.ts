// Examples in docs/ and the root README are the shipped example files (which
// published.test.ts runs from the packed packages), quoted verbatim, so they cannot drift.
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type QuotedFile, quotedFiles } from '../src/markdown.js'
import { repoRoot } from '../src/published.js'

async function markdownFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await markdownFiles(path)))
    else if (entry.name.endsWith('.md')) out.push(path)
  }
  return out
}

const docs = [join(repoRoot, 'README.md'), ...(await markdownFiles(join(repoRoot, 'docs')))]
const quotes: (QuotedFile & { doc: string })[] = []
for (const file of docs)
  for (const quote of quotedFiles(await readFile(file, 'utf8')))
    if (quote.path.endsWith('.mjs')) quotes.push({ doc: relative(repoRoot, file), ...quote })

describe('docs quote the shipped examples', () => {
  it('docs/getting-started.md quotes the node example', () => {
    expect(quotes.map((q) => `${q.doc} ${q.path}`)).toContain(
      'docs/getting-started.md packages/node/examples/cluster.mjs',
    )
  })

  it.each(quotes.map((q) => [`${q.doc}: ${q.path}`, q] as const))('%s', async (_, { path, lang, code }) => {
    expect(path, 'a shipped example: packages/<pkg>/examples/<name>.mjs').toMatch(
      /^packages\/[a-z-]+\/examples\/[\w.-]+\.mjs$/,
    )
    expect(lang).toBe('js')
    expect(code).toBe(await readFile(join(repoRoot, path), 'utf8'))
  })
})
