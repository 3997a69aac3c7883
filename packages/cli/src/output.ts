import { formatHostPort, type PeerAddress, type PeerRecord } from '@peer/discovery-core'
import { escapeControlChars, hasControlChars, quote } from '@peer/discovery-core/internal'

/** Where a command writes: stdout for results and events, stderr for diagnostics. */
export interface CliIo {
  /**
   * Results, events and help text. `isTTY: true` turns on terminal output (live tables, colours,
   * the extra lines of `keygen`); `columns` is the width `peer demo` cuts its event lines to.
   */
  stdout: { write(text: string): unknown; isTTY?: boolean | undefined; columns?: number | undefined }
  /** Diagnostics, logs and error messages (with `--json`, errors as one `{"error":...}` line). */
  stderr: { write(text: string): unknown }
  /**
   * The environment the commands read: `PEER_HOME` (the default identity directory is
   * `$PEER_HOME/identity`), `PEER_DEBUG`, `PEER_DEBUG_STACK`, `NO_COLOR`, and the variable a static
   * discovery backend's `env` option names (`--env`, `discovery[].env`).
   */
  env: NodeJS.ProcessEnv
}

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env }
}

/**
 * Writes a command's output either as text for people or, with `--json`, as one JSON object per
 * line (results and events alike), so scripts can read it with `jq` or line by line.
 */
export class Output {
  readonly json: boolean
  readonly io: CliIo

  constructor(io: CliIo, options: { json?: boolean | undefined } = {}) {
    this.io = io
    this.json = options.json === true
  }

  /**
   * A command's result: `value` as JSON with `--json` (control characters escaped, DEL and C1 too),
   * else the text lines.
   */
  result(value: Record<string, unknown>, text: string | readonly string[]): void {
    if (this.json) this.io.stdout.write(`${quote(value)}\n`)
    else this.io.stdout.write(`${typeof text === 'string' ? text : text.join('\n')}\n`)
  }

  /**
   * A live event: `{"event":name,"time":...,...fields}` with `--json`, else `text` (or, when
   * omitted, `name` followed by the fields as `key=value`; `null`: nothing in text mode). One line
   * either way: events carry names, reasons and error messages from the network, so every control
   * character in them is escaped (`\u001b`).
   */
  event(name: string, fields: Record<string, unknown>, text?: string | null): void {
    if (this.json) {
      this.io.stdout.write(`${quote({ event: name, time: new Date().toISOString(), ...fields })}\n`)
      return
    }
    if (text === null) return
    this.io.stdout.write(
      `${text === undefined ? `${name} ${formatFields(fields)}` : escapeControlChars(text)}\n`,
    )
  }

  /** A diagnostic for people (stderr); silent with `--json` unless `always`. */
  note(text: string, { always = false } = {}): void {
    if (!this.json || always) this.io.stderr.write(`${text}\n`)
  }
}

/** `key=value` pairs, quoting values with spaces or control characters; arrays joined with commas. */
export function formatFields(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const s = Array.isArray(v) ? v.join(',') : typeof v === 'object' && v !== null ? quote(v) : String(v)
      return `${k}=${/\s/.test(s) || s === '' || hasControlChars(s) ? quote(s) : s}`
    })
    .join(' ')
}

/** `host:port` strings of a record's addresses. */
export function formatAddresses(addresses: readonly PeerAddress[]): string[] {
  return addresses.map((a) => formatHostPort(a.host, a.port))
}

/** The fields a peer record is printed with, in both text and JSON output. */
export function recordFields(record: PeerRecord): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    addresses: formatAddresses(record.addresses),
    source: record.source,
    ...(record.meta !== undefined && Object.keys(record.meta).length > 0 ? { meta: { ...record.meta } } : {}),
    ...(record.ttl !== undefined ? { ttl: record.ttl } : {}),
  }
}
