// DNS-SD instance and host names: derived from the node's name and id, escaped for dns-packet
// (a dot inside a label is written `\.`), and renamed after a conflict ("name (2)", "host-2").

import { replaceControlChars } from '@peer/discovery-core/internal'

/** Longest DNS label in bytes. */
export const MAX_LABEL_BYTES = 63

/** Truncates `text` to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, max: number): string {
  let out = ''
  let bytes = 0
  for (const ch of text) {
    const n = Buffer.byteLength(ch)
    if (bytes + n > max) break
    out += ch
    bytes += n
  }
  return out
}

/** The instance label for a node: its name, else `peer-<first 12 id chars>`. */
export function instanceLabelFor(id: string, name: string | undefined): string {
  const base = name !== undefined && name !== '' ? name : `peer-${id.slice(0, 12)}`
  return truncateUtf8(replaceControlChars(base, ''), MAX_LABEL_BYTES)
}

/** The host label for a node: `peer-<first 16 id chars>`, with `-<attempt>` after a conflict. */
export function hostLabelFor(id: string, attempt = 1): string {
  return `peer-${id.slice(0, 16)}${attempt > 1 ? `-${attempt}` : ''}`
}

/** The instance label after `attempt - 1` conflicts: `name`, `name (2)`, `name (3)` ... */
export function renamedInstanceLabel(label: string, attempt: number): string {
  if (attempt <= 1) return label
  const suffix = ` (${attempt})`
  return truncateUtf8(label, MAX_LABEL_BYTES - Buffer.byteLength(suffix)) + suffix
}

/** Escapes a label for a dns-packet name (`.` and `\` are escaped). */
export function escapeLabel(label: string): string {
  return label.replace(/\\/g, '\\\\').replace(/\./g, '\\.')
}

/** Reverses {@link escapeLabel}. */
export function unescapeLabel(label: string): string {
  return label.replace(/\\(.)/g, '$1')
}

/** The first label of an escaped name, unescaped (`a\.b._peer._udp.local` -> `a.b`). */
export function firstLabel(name: string): string {
  const m = /^((?:[^.\\]|\\.)*)/.exec(name)
  return unescapeLabel(m ? m[1]! : name)
}

/** Case-insensitive key for a DNS name. */
export function nameKey(name: string): string {
  return name.toLowerCase().replace(/\.$/, '')
}
