import { PeerError } from '@peer/discovery-core'
import { escapeControlChars } from '@peer/discovery-core/internal'

/** Base class of every error the `peer` command reports; `exitCode` is the process exit status. */
export class CliError extends PeerError {
  /** Exit status used when this error ends the command: 1 for failures, 2 for bad input. */
  readonly exitCode: number
  constructor(message: string, options?: ErrorOptions & { exitCode?: number }) {
    super(message, options)
    this.exitCode = options?.exitCode ?? 1
  }
}

/** A command line argument is wrong (exit status 2). */
export class UsageError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, exitCode: 2 })
  }
}

/** One problem found in a configuration: where (`discovery[1].endpoints[0]`) and what. */
export interface ConfigProblem {
  /** Path of the offending field, `''` for the document as a whole. */
  readonly field: string
  /** What is wrong with it. */
  readonly message: string
}

/**
 * A configuration file (or the flags standing in for it) is invalid (exit status 2). The message
 * lists every problem as `<file>: <field>: <reason>`; `problems` holds them one by one.
 */
export class ConfigError extends CliError {
  /** The configuration file, or `'command line'` when the values came from flags. */
  readonly file: string
  /** Every problem found, in document order. */
  readonly problems: readonly ConfigProblem[]
  /** The first offending field (same as `problems[0].field`). */
  readonly field: string
  constructor(file: string, problems: readonly ConfigProblem[], options?: ErrorOptions) {
    // fields and reasons quote the file's text: each problem is one inert line, as the message is
    const inert = problems.map((p) => ({
      field: escapeControlChars(p.field),
      message: escapeControlChars(p.message),
    }))
    const lines = inert.map((p) => `${file}: ${p.field ? `${p.field}: ` : ''}${p.message}`)
    super(lines.length === 1 ? lines[0]! : `invalid configuration\n  ${lines.join('\n  ')}`, {
      ...options,
      exitCode: 2,
    })
    this.file = file
    this.problems = inert
    this.field = inert[0]?.field ?? ''
  }
}
