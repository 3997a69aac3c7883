/**
 * The `peer` executable: `bin/peer.js` imports the built copy of this module; during development
 * run it from sources with `tsx --conditions=@peer/source packages/cli/src/main.ts <command>`.
 */
import { runCli } from './program.js'

process.exitCode = await runCli(process.argv)
