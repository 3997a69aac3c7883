// A closed transport leaves nothing running: a process whose transport had a dial in flight (or
// one its caller gave up) exits as soon as its own work is done. The quinn binding keeps a
// handshake going until its connect timeout unless the client endpoint is aborted, and each one
// keeps Node's event loop alive: a node stopped during a redial lingered for seconds (minutes,
// with a long connect timeout) before its process could exit.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ENGINE_NAMES } from '../src/index.js'
import { quinnUnavailable } from './conformance/kit.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/dial-then-close.ts', import.meta.url))
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

/** Runs the fixture; resolves with its exit code and output once it has exited. */
async function run(
  engine: string,
  order: string,
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@peer/source', '--import', TSX, FIXTURE, engine, order],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s
  })
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    err += s
  })
  try {
    const [code] = (await once(child, 'exit')) as [number | null]
    return { code, out, err }
  } finally {
    child.kill('SIGKILL') // only if the test timed out first
  }
}

const engines = ENGINE_NAMES.filter((e) => e !== 'quinn' || quinnUnavailable() === undefined)

describe.each(engines)('%s: a process exits once its transport has closed', (engine) => {
  it('after a dial its caller gave up', async () => {
    const { code, out, err } = await run(engine, 'abort-then-close')
    expect(code, err).toBe(0)
    expect(out).toMatch(/AbortError/)
    expect(out).toMatch(/done/)
  }, 120_000)

  it('with a dial in flight: the close ends it ("transport is closed")', async () => {
    const { code, out, err } = await run(engine, 'close')
    expect(code, err).toBe(0)
    expect(out).toMatch(/TransportError: transport is closed/)
    expect(out).toMatch(/done/)
  }, 120_000)
})
