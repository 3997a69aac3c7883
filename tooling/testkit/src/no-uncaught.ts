// A vitest setup file (listed in vitest.shared.ts for every project): any uncaught exception or
// unhandled rejection that happens while a test runs fails THAT test, with the error, instead of
// surfacing later as a run-level "Unhandled Errors" block that names no test (or not at all, when a
// handler somewhere swallowed it). A process-killing bug is the worst bug we can ship; this keeps
// that class from coming back silently.
// (vitest itself also reports such errors at the end of the run and exits 1; this makes the
// failure name the test and say what happened.) A test that must provoke a crash does it in a child
// process and asserts on the child's exit.
import { afterEach } from 'vitest'

interface Guard {
  seen: unknown[]
}

const KEY = Symbol.for('peer.testkit.no-uncaught')
const globals = globalThis as { [KEY]?: Guard }

function guard(): Guard {
  let g = globals[KEY]
  if (g === undefined) {
    const state: Guard = { seen: [] }
    const record = (error: unknown) => {
      state.seen.push(error)
    }
    process.on('uncaughtException', record)
    process.on('unhandledRejection', record)
    globals[KEY] = state
    g = state
  }
  return g
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return String(error)
}

guard()

afterEach(async () => {
  // let errors from callbacks that are already queued surface before judging
  await new Promise((resolve) => setImmediate(resolve))
  const g = guard()
  if (g.seen.length === 0) return
  const errors = g.seen.splice(0)
  throw new AggregateError(
    errors,
    `${errors.length} uncaught exception(s) or unhandled rejection(s) during this test: ${errors.map(describe).join('; ')}`,
  )
})
