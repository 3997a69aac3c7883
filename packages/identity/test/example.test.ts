import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runExample } from '@peer/testkit/examples'
import { expect, it } from 'vitest'

it('the README example runs, and loads the same identity the second time', async () => {
  const dir = await mkdtemp(join(tmpdir(), `peer-identity-example-${process.pid}-`))
  try {
    const first = await runExample('packages/identity/examples/identity.mjs', { args: [dir] })
    const id = /^created node ([a-z2-7]{52}) \(ed25519\)$/m.exec(first.stdout)?.[1]
    expect(id, first.stdout).toBeDefined()
    expect(first.stdout).toMatch(/^saved 1 trusted peer\(s\) to /m)
    const second = await runExample('packages/identity/examples/identity.mjs', { args: [dir] })
    expect(second.stdout).toContain(`loaded node ${id} (ed25519)`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}, 60_000)
