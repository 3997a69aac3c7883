import { expect, it } from 'vitest'
import { isAbsoluteUrl, linkTargets, quotedFiles } from '../src/markdown.js'

it('finds inline links, images and definitions, not links inside code', () => {
  const md = [
    'See [the guide](../../docs/guide.md "title") and [`x.mjs`](examples/x.mjs#L3).',
    '![logo](<img/logo.png>)',
    '[ref]: https://example.org/ref',
    '`[not](a-link.md)` in a code span',
    '```md',
    '[not](in-a-fence.md)',
    '```',
  ].join('\n')
  expect(linkTargets(md)).toEqual([
    '../../docs/guide.md',
    'examples/x.mjs#L3',
    'img/logo.png',
    'https://example.org/ref',
  ])
  expect(['https://a', 'http://b', 'mailto:c', '../d', '#e'].map(isAbsoluteUrl)).toEqual([
    true,
    true,
    true,
    false,
    false,
  ])
})

it('finds the blocks quoted from files', () => {
  const md = '<!-- file: examples/a.mjs -->\n```js\nconsole.log(1)\n```\n\n```js\nnot quoted\n```\n'
  expect(quotedFiles(md)).toEqual([{ path: 'examples/a.mjs', lang: 'js', code: 'console.log(1)\n' }])
})
