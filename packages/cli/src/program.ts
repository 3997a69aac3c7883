import { type AbortOptions, throwIfAborted } from '@peer/discovery-core'
import { escapeControlChars, quote, toError } from '@peer/discovery-core/internal'
import { Command, CommanderError } from 'commander'
import { demoCommand } from './demo-command.js'
import { discoverCommand } from './discover-command.js'
import { CliError } from './errors.js'
import { idCommand } from './id-command.js'
import { keygenCommand } from './keygen-command.js'
import { type CliIo, processIo } from './output.js'
import { pingCommand } from './ping-command.js'
import { servicesCommand } from './services-command.js'
import { startCommand } from './start-command.js'
import { statusCommand } from './status-command.js'
import { VERSION } from './version.js'

export { VERSION } from './version.js'

/**
 * Builds the `peer` program (commander) with every command, writing to `io`. `options.signal`
 * stops the command the program runs, as Ctrl-C does.
 */
export function createProgram(io: CliIo = processIo(), options: AbortOptions = {}): Command {
  const program = new Command('peer')
    .description('peer: discover nodes and run a QUIC cluster with pinned mutual TLS')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    })
  for (const command of [
    keygenCommand(io, options),
    idCommand(io, options),
    startCommand(io, options),
    statusCommand(io, options),
    servicesCommand(io, options),
    discoverCommand(io, options),
    pingCommand(io, options),
    demoCommand(io, options),
  ]) {
    program.addCommand(command.exitOverride().configureOutput(program.configureOutput()))
  }
  program.addHelpText(
    'after',
    '\nEvery command takes --help; most take --json for one JSON object per line.\nExit status: 0 ok, 1 failure, 2 bad usage or configuration.',
  )
  return program
}

/**
 * Runs the `peer` command with `argv` (as in `process.argv`: node, script, args...) and returns
 * the exit status: 0 on success, 1 when the command failed, 2 for bad usage or configuration.
 * Errors are printed to stderr (as one JSON line `{"error":{...}}` when `--json` was given).
 * `options.signal` stops the command as Ctrl-C does (`peer start` then returns 0 after `stopped`);
 * a signal already aborted at the call rejects with an `AbortError`, and nothing runs.
 */
export async function runCli(
  argv: readonly string[] = process.argv,
  io: CliIo = processIo(),
  options: AbortOptions = {},
): Promise<number> {
  throwIfAborted(options.signal)
  const program = createProgram(io, options)
  try {
    await program.parseAsync([...argv])
    return 0
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed the help, the version or the usage error
      return error.exitCode === 0 ? 0 : 2
    }
    const json = argv.includes('--json')
    const err = toError(error)
    if (json) {
      const detail: Record<string, unknown> = { name: err.name, message: err.message }
      for (const key of ['field', 'file', 'path', 'problems'] as const) {
        if (key in err) detail[key] = (err as unknown as Record<string, unknown>)[key]
      }
      io.stderr.write(`${quote({ error: detail })}\n`)
    } else {
      // a message may quote the network (a peer's close reason, a backend's error): its lines stay
      // lines, any other control character is escaped
      io.stderr.write(`peer: ${escapeControlChars(err.message, { keepLineBreaks: true })}\n`)
      if (io.env.PEER_DEBUG_STACK === '1' && err.stack) io.stderr.write(`${err.stack}\n`)
    }
    return error instanceof CliError ? error.exitCode : 1
  }
}
