import { access } from 'node:fs/promises'
import { resolve } from 'node:path'
import { type AbortOptions, throwIfAborted } from '@peer/discovery-core'
import {
  generateIdentity,
  identityPaths,
  KEY_TYPES,
  type KeyType,
  loadIdentity,
  saveIdentity,
  TrustList,
} from '@peer/identity'
import { Command, Option } from 'commander'
import { defaultIdentityDir } from './config.js'
import { CliError } from './errors.js'
import { type CliIo, Output } from './output.js'

/**
 * Options of {@link keygen}. `signal` cancels it: aborted before the identity is written (or at
 * the call), it rejects with an `AbortError` and writes nothing.
 */
export interface KeygenOptions extends AbortOptions {
  /**
   * Identity directory to write `node.key` and `node.crt` into. Default `$PEER_HOME/identity`, with
   * `PEER_HOME` read from the `io.env` the command gets (unset: `~/.peer`).
   */
  out?: string | undefined
  /** Key type. Default `ed25519`. */
  keyType?: KeyType | undefined
  /** Replace an existing identity. */
  force?: boolean | undefined
  /** Also add the new id to this trust list file (created when missing). */
  trustFile?: string | undefined
  /** Label of the trust list entry. */
  label?: string | undefined
  /** Print `{ id, keyType, keyFile, certFile }` (and `trustFile` when given) as one JSON object, not text. */
  json?: boolean | undefined
}

/** `peer keygen`: generates a node identity and prints its node id. */
export async function keygen(options: KeygenOptions, io: CliIo): Promise<void> {
  const { signal } = options
  throwIfAborted(signal)
  const out = new Output(io, options)
  const dir = resolve(options.out ?? defaultIdentityDir(io.env))
  const paths = identityPaths(dir)
  if (options.force !== true) {
    for (const file of [paths.keyFile, paths.certFile]) {
      if (await exists(file)) {
        let which = ''
        try {
          which = ` (node id ${(await loadIdentity(paths, { signal })).id})`
        } catch {}
        throw new CliError(`${file} already exists${which}; use --force to replace the identity in ${dir}`)
      }
    }
  }
  const identity = await generateIdentity({ keyType: options.keyType ?? 'ed25519', signal })
  let trustFile: string | undefined
  let trust: TrustList | undefined
  if (options.trustFile !== undefined) {
    trustFile = resolve(options.trustFile)
    trust = (await exists(trustFile)) ? await TrustList.load(trustFile, { signal }) : new TrustList()
    trust.add(identity.id, options.label === undefined ? {} : { label: options.label })
  }
  // the last moment to stop: an identity half written (or not in its trust list) helps nobody
  throwIfAborted(signal)
  await saveIdentity(identity, paths)
  if (trust !== undefined && trustFile !== undefined) await trust.save(trustFile)
  out.result(
    {
      id: identity.id,
      keyType: identity.keyType,
      keyFile: paths.keyFile,
      certFile: paths.certFile,
      trustFile,
    },
    [
      identity.id,
      ...(out.io.stdout.isTTY === true
        ? [`  ${identity.keyType} key ${paths.keyFile} (0600), certificate ${paths.certFile}`]
        : []),
      ...(trustFile !== undefined && out.io.stdout.isTTY === true ? [`  trusted in ${trustFile}`] : []),
    ],
  )
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

/** The `keygen` command for commander; `options.signal` cancels it. */
export function keygenCommand(io: CliIo, options: AbortOptions = {}): Command {
  return new Command('keygen')
    .description('generate a node identity (key pair + self-signed certificate) and print its node id')
    .option('-o, --out <dir>', 'identity directory (node.key + node.crt)', defaultIdentityDir(io.env))
    .addOption(new Option('-t, --key-type <type>', 'key type').choices(KEY_TYPES).default('ed25519'))
    .option('-f, --force', 'replace an existing identity')
    .option('--trust-file <file>', 'also add the new node id to this trust list file (created if missing)')
    .option('--label <label>', 'label of that trust list entry')
    .option('--json', 'print {id, keyType, keyFile, certFile} as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  peer keygen --out ./identity\n  peer keygen --out ./n1 --trust-file trust.json --label n1',
    )
    .action(async (opts: Omit<KeygenOptions, 'signal'>) => keygen({ ...opts, signal: options.signal }, io))
}
