// docs/writing-a-backend.md quotes the files in examples/: the example backend passes the whole kit
// (the compliance declaration below is the guide's too), and the guide's code blocks are these
// files, character for character, so the two cannot drift apart.
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import '../examples/my-registry.compliance.js'

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const guide = join(packageDir, '..', '..', 'docs', 'writing-a-backend.md')

/** The fenced code blocks of a markdown file that follow a `<!-- file: path -->` marker. */
async function quotedFiles(markdown: string): Promise<Map<string, string>> {
  const text = await readFile(markdown, 'utf8')
  const out = new Map<string, string>()
  for (const m of text.matchAll(/<!-- file: (\S+) -->\n```ts\n([\s\S]*?)```\n/g)) out.set(m[1]!, m[2]!)
  return out
}

describe('docs/writing-a-backend.md', () => {
  it('quotes the example files exactly', async () => {
    const quoted = await quotedFiles(guide)
    expect([...quoted.keys()].sort()).toEqual([
      'packages/discovery-compliance/examples/my-registry-backend.ts',
      'packages/discovery-compliance/examples/my-registry.compliance.ts',
    ])
    for (const [path, code] of quoted) {
      expect(code, path).toBe(await readFile(join(packageDir, '..', '..', path), 'utf8'))
    }
  })
})
