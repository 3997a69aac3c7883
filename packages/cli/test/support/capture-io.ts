// A `CliIo` for command functions called in this process: collects stdout and stderr, and waits
// for a condition over them, woken by every write (no polling).
import type { CliIo } from '../../src/index.js'

export class CaptureIo implements CliIo {
  out = ''
  err = ''
  readonly env: NodeJS.ProcessEnv
  readonly #waiters = new Set<() => void>()
  readonly stdout = {
    write: (text: string): boolean => {
      this.out += text
      this.#wake()
      return true
    },
  }
  readonly stderr = {
    write: (text: string): boolean => {
      this.err += text
      this.#wake()
      return true
    },
  }

  constructor(env: Record<string, string> = {}) {
    this.env = { ...process.env, ...env }
  }

  /** Stdout lines parsed as JSON (other lines skipped). */
  get events(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = []
    for (const line of this.out.split('\n')) {
      if (!line.startsWith('{')) continue
      try {
        out.push(JSON.parse(line))
      } catch {}
    }
    return out
  }

  /** The first event named `name` matching `filter`, if printed yet. */
  event(name: string, filter: (e: Record<string, unknown>) => boolean = () => true) {
    return this.events.find((e) => e.event === name && filter(e))
  }

  /**
   * Resolves with `check()` once it is truthy (checked now and after every write). Rejects when
   * `running` (the command's promise) settles first, or after `timeoutMs` (a generous limit that
   * only turns a hang into a readable failure), with the output so far.
   */
  waitFor<T>(
    check: () => T,
    what: string,
    running?: Promise<unknown>,
    timeoutMs = 60_000,
  ): Promise<NonNullable<T>> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        cleanup()
        reject(new Error(`${why} before ${what}\nstdout:\n${this.out}\nstderr:\n${this.err}`))
      }
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs)
      const poke = () => {
        const value = check()
        if (!value) return
        cleanup()
        resolve(value as NonNullable<T>)
      }
      const cleanup = () => {
        clearTimeout(timer)
        this.#waiters.delete(poke)
      }
      this.#waiters.add(poke)
      running?.then(
        () => fail('the command ended'),
        (error: unknown) => fail(`the command failed (${String(error)})`),
      )
      poke()
    })
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w()
  }
}
