// One exit hook for the whole testkit. etcd, dnsmasq, Avahi, network namespaces and RPC children
// each register a synchronous cleanup (kill processes, remove temp dirs, delete namespaces); all of
// them run once, newest first, when the process exits or receives SIGINT, SIGTERM or SIGHUP.
//
// On a signal the cleanups run, then the process still dies of that signal (the default behaviour)
// unless someone else listens for it: then that listener decides, as it would without us.
//
//   const dir = mkdtempSync(join(tmpdir(), 'peer-x-'))
//   const forget = onExit(() => rmSync(dir, { recursive: true, force: true }))
//   ...
//   forget()                                          // released the normal way:
//   await rm(dir, { recursive: true, force: true })   // nothing left to do at exit

/** The signals after which the cleanups run (SIGKILL cannot be caught; nothing can run then). */
export const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

const cleanups = new Set<() => void>()
let installed = false

function runAll(): void {
  // newest first: a child started inside a namespace goes before the namespace does
  const pending = [...cleanups].reverse()
  cleanups.clear()
  for (const cleanup of pending) {
    try {
      cleanup()
    } catch {
      // one failing cleanup must not keep the others from running; the process is going anyway
    }
  }
}

function install(): void {
  if (installed) return
  installed = true
  process.on('exit', runAll)
  for (const signal of CLEANUP_SIGNALS) {
    const onSignal = () => {
      runAll()
      process.off(signal, onSignal)
      // keep the default behaviour (die of the signal) when nobody else handles it
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    }
    process.on(signal, onSignal)
  }
}

/**
 * Runs `cleanup` (synchronous: nothing asynchronous runs during `exit`) once, when the process
 * exits or receives SIGINT, SIGTERM or SIGHUP. Returns a function that unregisters it, for when the
 * resource was released the normal way. Errors thrown by `cleanup` are swallowed.
 */
export function onExit(cleanup: () => void): () => void {
  install()
  // a wrapper, so registering the same function twice gives two independent registrations
  const entry = () => cleanup()
  cleanups.add(entry)
  return () => {
    cleanups.delete(entry)
  }
}
