// `key=value` event lines (`peer discover`, `peer start` without --json) carry names, reasons and
// error messages from the network: a value with spaces or control characters is quoted, and its
// control characters (C0, DEL, C1) are escaped, so one event stays one inert terminal line.
import { expect, it } from 'vitest'
import { formatFields } from '../src/output.js'

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
