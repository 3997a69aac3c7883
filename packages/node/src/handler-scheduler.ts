interface LaneState<T> {
  readonly index: number
  running: number
  readonly backlog: T[]
  readonly roomWaiters: Array<() => void>
}

/**
 * Runs the handlers of one peer's incoming messages and requests, lane by lane: each lane has its
 * own handler slots (`maxRunning`) and its own arrival-order backlog (`maxQueued`); a lane whose
 * backlog is full pauses only its own reading (QUIC flow control then pushes back on that stream
 * alone), so a slow or stuck handler on one lane never delays the others.
 * @internal
 */
export class HandlerScheduler<T> {
  readonly #lanes: Array<LaneState<T>>
  readonly #maxRunning: number
  readonly #maxQueued: number
  readonly #start: (item: T, lane: number) => Promise<unknown> | undefined
  readonly #onIdle: () => void
  #closed = false

  /**
   * `start` runs one item: it returns the handler's promise (the slot is busy until it settles), or
   * undefined when nothing runs (no handler, refused).
   */
  constructor(
    lanes: number,
    maxRunning: number,
    maxQueued: number,
    start: (item: T, lane: number) => Promise<unknown> | undefined,
    onIdle: () => void,
  ) {
    this.#lanes = Array.from({ length: lanes }, (_, index) => ({
      index,
      running: 0,
      backlog: [],
      roomWaiters: [],
    }))
    this.#maxRunning = maxRunning
    this.#maxQueued = maxQueued
    this.#start = start
    this.#onIdle = onIdle
  }

  /** No handler runs and nothing waits for one. */
  get idle(): boolean {
    return this.#lanes.every((l) => l.running === 0 && l.backlog.length === 0)
  }

  /** Starts `item` now if its lane has a free slot and no backlog, else queues it. */
  push(lane: number, item: T): void {
    if (this.#closed) return
    const state = this.#lanes[lane]!
    if (state.running >= this.#maxRunning || state.backlog.length > 0) {
      state.backlog.push(item)
      return
    }
    this.#run(state, item)
  }

  /** Resolves once `lane`'s backlog has room (at once when it has; or when the scheduler closes). */
  room(lane: number): Promise<void> | undefined {
    const state = this.#lanes[lane]!
    if (state.backlog.length < this.#maxQueued || this.#closed) return undefined
    return new Promise<void>((resolve) => state.roomWaiters.push(resolve))
  }

  /** Drops every backlog (the link ended) and wakes paused readers. */
  close(): void {
    this.#closed = true
    for (const state of this.#lanes) {
      state.backlog.length = 0
      for (const wake of state.roomWaiters.splice(0)) wake()
    }
  }

  #run(state: LaneState<T>, item: T): void {
    const running = this.#start(item, state.index)
    if (running === undefined) return
    state.running++
    void running.then(
      () => this.#done(state),
      () => this.#done(state),
    )
  }

  #done(state: LaneState<T>): void {
    state.running--
    // start what waited, in arrival order (a synchronous handler frees its slot at once)
    while (!this.#closed && state.running < this.#maxRunning && state.backlog.length > 0) {
      this.#run(state, state.backlog.shift()!)
    }
    if (state.backlog.length < this.#maxQueued) state.roomWaiters.shift()?.()
    if (this.idle) this.#onIdle()
  }
}
