/**
 * The `peer` executable: `bin/peer.js` imports the built copy of this module; during development
 * run it from sources with `tsx --conditions=@peer/source packages/cli/src/main.ts <command>`.
 */
import { runCli } from './program.js'

// `peer ... | head`: a reader that went away is not an error worth a stack trace
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (stream.listenerCount('error') > 1) return // a command handles it (the demo cleans up first)
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw error
  })
}

process.exitCode = await runCli(process.argv)
