// What the CLI writes carries names, reasons and error messages from the network and from files:
// every control character (C0, DEL, C1: U+009B is CSI on 8-bit terminals) reaches the terminal
// escaped, so an event stays one inert line, JSON output stays plain JSON text, and an error
// message keeps only its line breaks.
import { expect, it } from 'vitest'
import { runCli } from '../src/index.js'
import { formatFields, Output } from '../src/output.js'

const NASTY = 'x\u001b[2J\u009b31m\u007f'
const ESCAPED = 'x\\u001b[2J\\u009b31m\\u007f'

function capture(): {
  io: { stdout: { write(t: string): void }; stderr: { write(t: string): void }; env: NodeJS.ProcessEnv }
  out: string[]
  err: string[]
} {
  const out: string[] = []
  const err: string[] = []
  return {
    io: { stdout: { write: (t) => out.push(t) }, stderr: { write: (t) => err.push(t) }, env: {} },
    out,
    err,
  }
}

it('quotes values with spaces or control characters and escapes every control character', () => {
  expect(formatFields({ name: 'a@b', port: 1, gone: undefined, tags: ['x', 'y'] })).toBe(
    'name=a@b port=1 tags=x,y',
  )
  expect(formatFields({ reason: 'timed out', empty: '' })).toBe('reason="timed out" empty=""')
  const line = formatFields({
    name: 'x\u001b[2J',
    csi: 'y\u009b2J',
    del: 'z\u007f',
    error: 'two\nlines',
    record: { meta: 'v\u0085' },
    list: ['ok', 'bad\u0007'],
  })
  expect(line).not.toMatch(/\p{Cc}/u)
  expect(line).toBe(
    'name="x\\u001b[2J" csi="y\\u009b2J" del="z\\u007f" error="two\\nlines" record={"meta":"v\\u0085"} list="ok,bad\\u0007"',
  )
})

it('escapes control characters in event lines, JSON events and JSON results', () => {
  const text = capture()
  new Output(text.io).event('peer:down', { reason: NASTY }, `peer:down  a (${NASTY})`)
  new Output(text.io).event('peer:down', { reason: NASTY })
  expect(text.out).toEqual([`peer:down  a (${ESCAPED})\n`, `peer:down reason="${ESCAPED}"\n`])
  const json = capture()
  new Output(json.io, { json: true }).event('peer:down', { reason: NASTY })
  new Output(json.io, { json: true }).result({ error: NASTY }, 'unused')
  for (const line of json.out) {
    expect(line.slice(0, -1)).not.toMatch(/\p{Cc}/u)
  }
  expect(JSON.parse(json.out[0]!).reason).toBe(NASTY)
  expect(JSON.parse(json.out[1]!).error).toBe(NASTY)
})

it('an error message keeps its line breaks, with every other control character escaped', async () => {
  const { io, err } = capture()
  const code = await runCli(['node', 'peer', 'start', '--config', `/nonexistent-${NASTY}.json`], io)
  expect(code).toBe(2)
  expect(err.join('')).toBe(`peer: /nonexistent-${ESCAPED}.json: file does not exist\n`)
  const json = capture()
  await runCli(['node', 'peer', 'start', '--json', '--config', `/nonexistent-${NASTY}.json`], json.io)
  expect(json.err.join('').slice(0, -1)).not.toMatch(/\p{Cc}/u)
  expect(JSON.parse(json.err.join('')).error.message).toContain(ESCAPED)
})

it("a configuration problem that quotes the file's text is one inert line, in problems and message", async () => {
  const { parseConfig, parseJson } = await import('../src/config.js')
  const { ConfigError } = await import('../src/errors.js')
  const file = '/etc/peer/peer.json'
  let error: unknown
  try {
    parseConfig(parseJson('\u0000\u009b', file), { file, env: {} })
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(ConfigError)
  const problem = (error as InstanceType<typeof ConfigError>).problems[0]!
  expect(problem.message).not.toMatch(/\p{Cc}/u)
  expect(problem.message).toContain('\\u0000\\u009b')
  expect((error as Error).message).toContain(problem.message)
})
