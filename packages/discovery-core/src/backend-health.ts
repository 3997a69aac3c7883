// The last error of each backend, and whether the backend has worked since: what `Discovery`
// says about "nobody was discovered" (the last error alone read as current long after an etcd or a
// socket came back).

/** A backend's last error, as `Discovery.lastErrors` lists it. */
export interface BackendErrorInfo {
  /** The backend's source (`etcd`, `mdns`, ...). */
  readonly source: string
  /** What it reported. */
  readonly error: Error
  /** When (ms since the epoch). */
  readonly at: number
  /**
   * When the backend first worked again after this error (ms since the epoch): it reported a
   * valid record, or answered a `lookup`, `announce` or `withdraw`. Absent while it has not.
   */
  readonly recoveredAt?: number
}

/** The last error per backend, oldest first, with its recovery. @internal */
export class BackendHealth {
  readonly #last = new Map<string, BackendErrorInfo>()

  /** `source` failed with `error` now (it replaces the source's earlier error). */
  failed(source: string, error: Error): void {
    this.#last.delete(source) // newest last
    this.#last.set(source, Object.freeze({ source, error, at: Date.now() }))
  }

  /** `source` worked now: its last error, if it has one not yet recovered from, is marked. */
  worked(source: string): void {
    const last = this.#last.get(source)
    if (last === undefined || last.recoveredAt !== undefined) return
    this.#last.set(source, Object.freeze({ ...last, recoveredAt: Date.now() }))
  }

  list(): readonly BackendErrorInfo[] {
    return [...this.#last.values()]
  }

  clear(): void {
    this.#last.clear()
  }
}
