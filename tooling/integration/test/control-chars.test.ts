// One set of control characters, refused (or replaced) the same way everywhere text from users or
// from the network is checked: `hasControlChars` / `replaceControlChars` of discovery-core. Each
// check below goes through a package's own entry point, so a package that went back to a copy of
// its own (one that lets C1 through, say) fails here; the last test finds such copies in the source.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hostProblem, isNodeName, parsePeerRecord } from '@peer/discovery-core'
import { hasControlChars, replaceControlChars } from '@peer/discovery-core/internal'
import { parseTxtAttributes } from '@peer/discovery-dns'
import { parseTxt } from '@peer/discovery-dns/wire'
import { instanceLabelFor } from '@peer/discovery-mdns'
import { TrustList } from '@peer/identity'
import { decodeEnvelope, encodeValue } from '@peer/node/internal'
import { ServerRegistry } from '@peer/registry'
import { testId } from '@peer/testkit/ids'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../src/published.js'

// one of each range: C0, DEL, C1 (NEL, and CSI: an escape sequence on 8-bit terminals)
const CONTROLS = ['\u0000', '\u0007', '\u001b', '\u001f', '\u007f', '\u0080', '\u0085', '\u009b', '\u009f']
// printable neighbours of the ranges, and characters that only look odd
const PRINTABLE = [' ', '~', '\u00a0', '\u00ff', '\u2028', 'ü', '\ufffd']

describe('the control characters', () => {
  it('are C0, DEL and C1 (Unicode category Cc), nothing else', () => {
    for (let cp = 0; cp <= 0xffff; cp++) {
      const c = String.fromCharCode(cp)
      expect(hasControlChars(`a${c}b`), `U+${cp.toString(16)}`).toBe(cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
    }
    expect(hasControlChars('')).toBe(false)
    expect(replaceControlChars('a\u0000b\u009bc\u007f', '?')).toBe('a?b?c?')
    expect(replaceControlChars('plain text', '?')).toBe('plain text')
  })

  it('are refused in node names, hosts and record meta values', () => {
    for (const c of CONTROLS) {
      expect(isNodeName(`app${c}@box`), JSON.stringify(c)).toBe(false)
      expect(hostProblem(`bo${c}x`), JSON.stringify(c)).toBe('host contains control characters')
      const r = parsePeerRecord({ id: testId(1), addresses: [], source: 'static', meta: { k: `v${c}` } })
      expect(r.ok ? 'accepted' : r.error.path, JSON.stringify(c)).toBe('meta.k')
    }
    for (const c of PRINTABLE.filter((c) => c.trim() !== '')) {
      expect(
        parsePeerRecord({ id: testId(1), addresses: [], source: 'static', meta: { k: `v${c}` } }).ok,
      ).toBe(true)
    }
  })

  it('drop a TXT value (DNS and mDNS) and strip from an mDNS instance label', () => {
    for (const c of CONTROLS) {
      const parsed = parseTxt([`k=v${c}`, 'ok=1'])
      expect([...parsed.entries.keys()], JSON.stringify(c)).toEqual(['ok'])
      expect(parsed.problems).toEqual(['TXT value of k contains control characters'])
      expect(parseTxtAttributes([`k=v${c}`]).skipped).toBe(1)
      expect(instanceLabelFor(testId(1), `app${c}@box`)).toBe('app@box')
    }
    for (const c of PRINTABLE) expect(parseTxt([`k=v${c}`]).entries.get('k')).toBe(`v${c}`)
  })

  it('are refused in trust labels and server names', () => {
    const list = new TrustList()
    const servers = new ServerRegistry()
    for (const c of CONTROLS) {
      expect(() => list.add(testId(1), { label: `lab${c}el` }), JSON.stringify(c)).toThrow(
        /control characters/,
      )
      expect(
        () => servers.register(`api${c}`, { closed: new Promise<void>(() => {}) }),
        JSON.stringify(c),
      ).toThrow(/control characters/)
    }
    for (const c of PRINTABLE) {
      expect(list.add(testId(2), { label: `lab${c}el` })).toBe(true)
      list.remove(testId(2))
      expect(servers.register(`api${c}`, { closed: new Promise<void>(() => {}) }).name).toBe(`api${c}`)
    }
  })

  it('make a hello name malformed', () => {
    for (const c of CONTROLS) {
      // a hello envelope: [version, kind 0 (hello), topic, id, payload]
      expect(
        () => decodeEnvelope(encodeValue([1, 0, '', 0, { name: `app${c}@box` }])),
        JSON.stringify(c),
      ).toThrow(/without whitespace or control characters/)
    }
  })

  it('are matched in packages/*/src only by discovery-core/src/text.ts', async () => {
    // a character class naming a control range: [\u0000-..., [\x00-..., \x7f, \u009f, \p{Cc}
    const COPY = /\\u0000-|\\x00-|\\u007f|\\x7f|\\u009f|\\x9f|\\p\{Cc\}|\\p\{Control\}/
    const found: string[] = []
    const visit = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) await visit(path)
        else if (/\.(ts|mts)$/.test(entry.name) && !path.endsWith(join('discovery-core', 'src', 'text.ts'))) {
          const lines = (await readFile(path, 'utf8')).split('\n')
          lines.forEach((line, i) => {
            if (COPY.test(line)) found.push(`${path.slice(repoRoot.length + 1)}:${i + 1}: ${line.trim()}`)
          })
        }
      }
    }
    for (const pkg of await readdir(join(repoRoot, 'packages')))
      await visit(join(repoRoot, 'packages', pkg, 'src'))
    expect(found).toEqual([])
  })
})
