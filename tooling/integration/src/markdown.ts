// What the published READMEs promise: the example files they quote and the links they make.

/** A code block quoted from a file: `<!-- file: examples/x.mjs -->` right before a fenced block. */
export interface QuotedFile {
  /** The path after `file:`, relative to the markdown file's package. */
  readonly path: string
  /** The fence's info string (`js`, `ts`, ...). */
  readonly lang: string
  /** The block's content, ending with a newline. */
  readonly code: string
}

/** The fenced code blocks that follow a `<!-- file: path -->` marker. */
export function quotedFiles(markdown: string): QuotedFile[] {
  return [...markdown.matchAll(/<!-- file: (\S+) -->\n```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    path: m[1]!,
    lang: m[2]!,
    code: m[3]!,
  }))
}

/** The markdown without its fenced code blocks and inline code spans (links there are not links). */
function withoutCode(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '')
}

/** The targets of the inline links, images and link definitions of `markdown`, outside code. */
export function linkTargets(markdown: string): string[] {
  const text = withoutCode(markdown)
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!)
  const definitions = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/gm)].map((m) => m[1]!)
  return [...inline, ...definitions]
}

/** True for a link that leaves the package: `https:`, `http:`, `mailto:`. */
export function isAbsoluteUrl(target: string): boolean {
  return /^(https?|mailto):/i.test(target)
}
