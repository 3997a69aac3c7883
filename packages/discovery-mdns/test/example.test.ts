// The README example, run as-is inside a namespace the test creates.
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { createNetns } from '@peer/testkit/netns'
import { expect, it } from 'vitest'

it('examples/two-nodes.mjs discovers and loses a node', async () => {
  const ns = await createNetns({ label: 'mdns-example' })
  try {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
    const file = fileURLToPath(new URL('../examples/two-nodes.mjs', import.meta.url))
    const { stdout } = await promisify(execFile)(
      'ip',
      ['netns', 'exec', ns.name, process.execPath, '--conditions=@peer/source', '--import', tsx, file],
      { timeout: 20_000, cwd: fileURLToPath(new URL('..', import.meta.url)) },
    )
    expect(stdout).toMatch(/^discovered alice@demo at 127\.0\.0\.1:4000, ::1:4000 \{"role":"web"\}$/m)
    expect(stdout).toMatch(/^lost alice@demo \(withdrawn\)$/m)
  } finally {
    await ns.delete()
  }
}, 30_000)
