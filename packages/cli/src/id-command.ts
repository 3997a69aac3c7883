import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { type AbortOptions, throwIfAborted } from '@peer/discovery-core'
import { loadIdentity, nodeIdFromCertificate } from '@peer/identity'
import { Command } from 'commander'
import { defaultIdentityDir } from './config.js'
import { CliError, UsageError } from './errors.js'
import { type CliIo, Output } from './output.js'

/** Options of {@link printId}. `signal` cancels the read: it rejects with an `AbortError`. */
export interface IdOptions extends AbortOptions {
  /**
   * Identity directory. Default `$PEER_HOME/identity`, with `PEER_HOME` read from the `io.env` the
   * command gets (unset: `~/.peer`).
   */
  identity?: string | undefined
  /** A certificate file (PEM or DER): print the id of its public key, no private key needed. */
  cert?: string | undefined
  /** An explicit private key file; needs `cert`. */
  key?: string | undefined
  /**
   * Print one JSON object instead of the bare id: `{ id, keyType, notAfter }` with the identity's
   * location (`identity`, or `keyFile` and `certFile`); `{ id, certFile }` for `cert` alone.
   */
  json?: boolean | undefined
}

/** `peer id`: prints the node id of an identity (checking key and certificate) or of a certificate. */
export async function printId(options: IdOptions, io: CliIo): Promise<void> {
  const { signal } = options
  throwIfAborted(signal)
  const out = new Output(io, options)
  if (options.key !== undefined && options.cert === undefined) throw new UsageError('--key needs --cert')
  if (options.cert !== undefined && options.key === undefined) {
    const file = resolve(options.cert)
    let data: Buffer
    try {
      data = await readFile(file, { signal })
    } catch (error) {
      throwIfAborted(signal)
      throw new CliError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code})`, {
        cause: error,
      })
    }
    let id: string
    try {
      id = nodeIdFromCertificate(data.includes('-----BEGIN') ? data.toString('utf8') : new Uint8Array(data))
    } catch (error) {
      throw new CliError(`${file}: not a certificate (${(error as Error).message})`, { cause: error })
    }
    out.result({ id, certFile: file }, id)
    return
  }
  const location =
    options.key !== undefined && options.cert !== undefined
      ? { keyFile: resolve(options.key), certFile: resolve(options.cert) }
      : resolve(options.identity ?? defaultIdentityDir(io.env))
  const identity = await loadIdentity(location, { signal })
  out.result(
    {
      id: identity.id,
      keyType: identity.keyType,
      notAfter: identity.notAfter.toISOString(),
      ...(typeof location === 'string' ? { identity: location } : location),
    },
    identity.id,
  )
}

/** The `id` command for commander; `options.signal` cancels it. */
export function idCommand(io: CliIo, options: AbortOptions = {}): Command {
  return new Command('id')
    .description("print this node's id (from its identity directory, or from a certificate file)")
    .option('-i, --identity <dir>', 'identity directory (node.key + node.crt)', defaultIdentityDir(io.env))
    .option('--cert <file>', 'a certificate file (PEM or DER); alone, no private key is read')
    .option('--key <file>', 'a private key file (with --cert)')
    .option('--json', 'print {id, keyType, notAfter, ...} as JSON')
    .argument('[dir]', 'identity directory (the same as --identity)')
    .addHelpText(
      'after',
      '\nExamples:\n  peer id ./identity\n  peer id --identity ./identity\n  peer id --cert node.crt',
    )
    .action(async (dir: string | undefined, opts: IdOptions, command: Command) => {
      if (dir !== undefined) {
        if (command.getOptionValueSource('identity') === 'cli' && resolve(opts.identity!) !== resolve(dir)) {
          throw new UsageError(`give the identity directory once: ${dir} or --identity ${opts.identity}`)
        }
        if (opts.cert !== undefined || opts.key !== undefined) {
          throw new UsageError(`${dir}: an identity directory and --cert/--key exclude each other`)
        }
        opts.identity = dir
      }
      await printId({ ...opts, signal: options.signal }, io)
    })
}
