// Control characters in text from users and from the network, checked in one place: node names,
// hosts, record and TXT values, trust labels, server names, hello names and close reasons all use
// these, so every package refuses (or replaces) the same set.

/**
 * One control character: Unicode's general category Cc, that is C0 (U+0000 to U+001F), DEL
 * (U+007F) and C1 (U+0080 to U+009F). C1 holds terminal controls of its own (U+009B is CSI, the
 * start of an escape sequence on terminals that read 8-bit controls), so it is refused with C0.
 */
const CONTROL = /\p{Cc}/u
const CONTROL_ALL = /\p{Cc}/gu

/** Whether `text` has a control character (C0, DEL or C1). */
export function hasControlChars(text: string): boolean {
  return CONTROL.test(text)
}

/** `text` with every control character (C0, DEL or C1) replaced by `replacement`. */
export function replaceControlChars(text: string, replacement: string): string {
  return text.replace(CONTROL_ALL, replacement)
}

/** Control characters but the line feed. */
const CONTROL_BUT_LF = /[^\P{Cc}\n]/gu

/**
 * `text` with every control character (C0, DEL or C1) written as a `\u` escape (`\u001b`,
 * `\u009b`), so that it stays one line and reaches a terminal inert (log lines). With
 * `keepLineBreaks`, line feeds stay (a message that lists problems on lines).
 */
export function escapeControlChars(text: string, options: { keepLineBreaks?: boolean } = {}): string {
  return text.replace(options.keepLineBreaks === true ? CONTROL_BUT_LF : CONTROL_ALL, unicodeEscape)
}

/** `\u001b` for ESC. */
function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
}
