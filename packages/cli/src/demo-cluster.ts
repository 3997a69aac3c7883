import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type AbortOptions,
  abortErrorFor,
  encodeServiceList,
  SERVICES_META_KEY,
  shortId,
  TypedEventTarget,
  throwIfAborted,
} from '@peer/discovery-core'
import { numberOption, quote, whenAborted, writeFileAtomic } from '@peer/discovery-core/internal'
import { generateIdentity, saveIdentity, TrustList } from '@peer/identity'
import { CONTROL_SOCKET_NAME } from './control-server.js'
import { type DemoCloseOptions, stopChild } from './demo-close.js'
import {
  type DemoClusterOptions,
  DemoConfigError,
  type DemoEvents,
  type DemoNodeState,
  MAX_CHILD_LINE,
  MAX_DEMO_NODES,
  MAX_STDERR_LINES,
} from './demo-types.js'
import { durationMs } from './durations.js'

/**
 * A local cluster of `peer start` processes on loopback with generated identities, one shared
 * trust list and a static peer list file, all in a temporary directory. The supervisor reads each
 * node's `--json` events, keeps the table's numbers, and can kill and restart nodes.
 * `close()` (also run on process exit) kills every node and removes the directory.
 */
export class DemoCluster extends TypedEventTarget<DemoEvents> {
  /**
   * The nodes, `node1` first (empty until `start()` creates them). Each entry stays the same object
   * for the cluster's life and is updated in place as the node's events arrive.
   */
  readonly nodes: DemoNodeState[] = []
  readonly #options: Required<
    Omit<DemoClusterOptions, 'command' | 'services' | 'env' | 'statsInterval' | 'statsIntervalMs'>
  > &
    Pick<DemoClusterOptions, 'command' | 'services' | 'env'> & { statsIntervalMs: number }
  readonly #children = new Map<number, ChildProcess>()
  readonly #stderr = new Map<number, string[]>()
  readonly #started = Date.now()
  #dir: string | undefined
  #closed = false
  readonly #overdue: string[] = []
  #closing: Promise<void> | undefined
  readonly #hurry = new AbortController() // aborted by a `close` signal: no more grace, SIGKILL
  readonly #onExit = () => this.#killAllSync()

  constructor(options: DemoClusterOptions) {
    super()
    if (!Number.isInteger(options.nodes) || options.nodes < 2 || options.nodes > MAX_DEMO_NODES) {
      throw new DemoConfigError(`nodes must be an integer in 2-${MAX_DEMO_NODES}, got ${options.nodes}`, {
        option: 'nodes',
      })
    }
    for (const [name, services] of Object.entries(options.services ?? {})) {
      const index = /^node(\d+)$/.exec(name)?.[1]
      if (index === undefined || Number(index) < 1 || Number(index) > options.nodes) {
        throw new DemoConfigError(`services: ${quote(name)} is not one of node1-node${options.nodes}`, {
          option: 'services',
        })
      }
      try {
        encodeServiceList(services)
      } catch (error) {
        throw new DemoConfigError(`services.${name}: ${(error as Error).message}`, {
          option: 'services',
          cause: error,
        })
      }
    }
    const { statsInterval: _deprecated, ...rest } = options
    this.#options = {
      chatterMs: 100,
      idleTimeoutMs: 3000,
      ...rest,
      statsIntervalMs: durationMs(
        options,
        {
          current: 'statsIntervalMs',
          deprecated: 'statsInterval',
          seconds: true,
          owner: 'DemoCluster',
          error: DemoConfigError,
        },
        500,
      ),
    }
  }

  /** The temporary directory (identities, trust list, peer list), once created. */
  get directory(): string | undefined {
    return this.#dir
  }

  /**
   * The nodes `close` had to kill because they did not exit within the grace after SIGTERM (a
   * stop that hung), by name; empty when every node stopped on its own (or before `close`).
   */
  get overdue(): readonly string[] {
    return this.#overdue
  }

  /** Seconds since the cluster was created. */
  elapsed(): number {
    return (Date.now() - this.#started) / 1000
  }

  /** Process ids of the nodes still running. */
  pids(): number[] {
    return [...this.#children.values()].map((c) => c.pid).filter((p): p is number => p !== undefined)
  }

  /**
   * Creates identities, trust list and config, and spawns every node. `signal` cancels it before
   * the nodes are spawned: it rejects with an `AbortError` and removes what it created (the
   * cluster is closed then); already aborted, it creates nothing.
   */
  async start(options: AbortOptions = {}): Promise<void> {
    const { signal } = options
    throwIfAborted(signal)
    process.on('exit', this.#onExit)
    try {
      await this.#prepare(signal)
    } catch (error) {
      if (signal?.aborted !== true) throw error
      await this.close()
      throw abortErrorFor(signal)
    }
    for (const node of this.nodes) this.#spawn(node, 0)
  }

  /** The temporary directory with identities, trust list, peer list and configuration. */
  async #prepare(signal: AbortSignal | undefined): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), `peer-demo-${process.pid}-`))
    const trust = new TrustList()
    for (let i = 1; i <= this.#options.nodes; i++) {
      const identity = await generateIdentity({ signal })
      await saveIdentity(identity, join(this.#dir, `node${i}`), { signal })
      trust.add(identity.id, { label: `node${i}` })
      this.nodes.push({
        index: i,
        name: `node${i}`,
        id: identity.id,
        pid: undefined,
        port: undefined,
        state: 'starting',
        up: new Set(),
        links: [],
        provides: [...(this.#options.services?.[`node${i}`] ?? [])],
        providers: new Map(),
        rate: 0,
        starts: 0,
      })
    }
    await trust.save(join(this.#dir, 'trust.json'), { signal })
    await this.#writePeers(signal)
    const config = {
      lostHysteresisMs: 500,
      transport: {
        maxIdleTimeoutMs: this.#options.idleTimeoutMs,
        keepAliveIntervalMs: 500,
        connectTimeoutMs: 3000,
      },
      reconnect: { initialDelayMs: 200, maxDelayMs: 1000, dialTimeoutMs: 3000 },
      log: { level: 'error' },
    }
    await writeFileAtomic(join(this.#dir, 'demo.json'), `${JSON.stringify(config, null, 2)}\n`, { signal })
    throwIfAborted(signal)
    this.step(`temp dir ${this.#dir}: ${this.#options.nodes} identities, trust.json, peers.json`, {
      dir: this.#dir,
    })
  }

  /** Emits a `step` event (the demo script's narration). */
  step(text: string, fields: Record<string, unknown> = {}): void {
    this.emit('step', { t: this.elapsed(), text, fields })
  }

  /**
   * Writes the static peer list with every node whose port is known, each with the services it
   * provides as `meta.services` (static discovery cannot announce: the list carries them).
   */
  async #writePeers(signal?: AbortSignal): Promise<void> {
    const dir = this.#dir!
    const peers = this.nodes
      .filter((n) => n.port !== undefined)
      .map((n) => ({
        id: n.id,
        name: `${n.name}@localhost`,
        addresses: [`127.0.0.1:${n.port}`],
        ...(n.provides.length === 0 ? {} : { meta: { [SERVICES_META_KEY]: encodeServiceList(n.provides) } }),
      }))
    await writeFileAtomic(join(dir, 'peers.json'), `${JSON.stringify({ version: 1, peers }, null, 2)}\n`, {
      signal,
    })
  }

  /** The control socket of a node (`peer status` / `peer services` talk to it), once started. */
  controlPath(node: DemoNodeState): string | undefined {
    return this.#dir === undefined ? undefined : join(this.#dir, node.name, CONTROL_SOCKET_NAME)
  }

  /**
   * Publishes every started node's address in the peer list (the nodes watch the file). `signal`
   * cancels the write (an `AbortError`; the old list stays, as the file is replaced atomically).
   */
  publish(options: AbortOptions = {}): Promise<void> {
    return this.#writePeers(options.signal)
  }

  #spawn(node: DemoNodeState, port: number): void {
    const dir = this.#dir!
    const args = [
      ...this.#options.command.args,
      'start',
      '--json',
      '--config',
      join(dir, 'demo.json'),
      '--identity',
      join(dir, node.name),
      '--name',
      `${node.name}@localhost`,
      '--listen',
      `127.0.0.1:${port}`,
      '--trust-file',
      join(dir, 'trust.json'),
      '--peers-file',
      join(dir, 'peers.json'),
      '--stats',
      String(this.#options.statsIntervalMs / 1000),
      '--chatter',
      String(this.#options.chatterMs),
      '--exit-with-stdin',
      ...node.provides.flatMap((service) => ['--provide', service]),
    ]
    const child = spawn(this.#options.command.file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...(this.#options.env ?? process.env), FORCE_COLOR: '0' },
    })
    node.pid = child.pid
    node.starts += 1
    node.up.clear()
    node.links = []
    node.providers.clear()
    node.rate = 0
    node.lastStats = undefined
    this.#children.set(node.index, child)
    // this child's own lines: a replaced child's last output never reaches its successor's
    const stderrLines: string[] = []
    this.#stderr.set(node.index, stderrLines)
    // a command that cannot be run (ENOENT, EACCES, EAGAIN) is reported on 'error' (then 'close'
    // follows): without a listener it would be an uncaught exception that ends the demo
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (this.#children.get(node.index) === child)
        stderrLines.push(`cannot run ${this.#options.command.file}: ${error.message}`)
    })
    child.stdin!.on('error', () => {})
    child.stdout!.on('error', () => {}) // 'close' reports the end of the child either way
    child.stderr!.on('error', () => {})
    let buffer = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk
      let nl = buffer.indexOf('\n')
      while (nl !== -1) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (this.#children.get(node.index) === child) this.#onLine(node, line)
        nl = buffer.indexOf('\n')
      }
      if (buffer.length > MAX_CHILD_LINE) buffer = ''
    })
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderrLines.push(...chunk.split('\n').filter((l) => l !== ''))
      if (stderrLines.length > MAX_STDERR_LINES) stderrLines.splice(0, stderrLines.length - MAX_STDERR_LINES)
    })
    // 'close' (not 'exit'): every stderr line has been read by then
    child.on('close', (code, signal) => {
      // a child replaced by a restart (killed, then restarted before its close arrived) is over:
      // the node's state and pid belong to the new child now
      if (this.#children.get(node.index) !== child) return
      this.#children.delete(node.index)
      const expected = node.state === 'killed' || node.state === 'stopping' || this.#closed
      if (
        node.state === 'restarting' &&
        !this.#closed &&
        stderrLines.some((l) => l.includes('address is in use'))
      ) {
        // the old port was taken meanwhile: take any free port and publish the new address
        node.republish = true
        this.emit('node', {
          t: this.elapsed(),
          node: node.name,
          text: `${node.name}: port ${node.port} is taken now; restarting on a new port`,
          fields: { state: 'restarting' },
        })
        this.#spawn(node, 0)
        return
      }
      if (node.state !== 'killed') node.state = expected ? 'stopped' : 'failed'
      node.pid = undefined
      if (!expected) {
        const why = stderrLines.slice(-3).join(' | ')
        this.emit('node', {
          t: this.elapsed(),
          node: node.name,
          text: `${node.name} exited unexpectedly (${signal ?? `code ${code}`})${why ? `: ${why}` : ''}`,
          fields: { state: 'failed', code, signal },
        })
      }
    })
  }

  #onLine(node: DemoNodeState, line: string): void {
    let event: Record<string, unknown>
    try {
      event = JSON.parse(line) as Record<string, unknown>
    } catch {
      return
    }
    const t = this.elapsed()
    const peerName = (id: unknown) => this.nodes.find((n) => n.id === id)?.name ?? shortId(String(id))
    switch (event.event) {
      case 'started':
        node.port = Number(event.port)
        node.state = 'up'
        if (node.republish === true) {
          node.republish = false
          this.#writePeers().catch((error: unknown) =>
            this.step(`cannot update peers.json: ${String(error)}`),
          )
        }
        this.emit('node', {
          t,
          node: node.name,
          text: `${node.name} started (pid ${node.pid}, 127.0.0.1:${node.port})`,
          fields: { state: 'started', pid: node.pid, port: node.port, id: node.id },
        })
        break
      case 'peer:up': {
        const id = String(event.id)
        node.up.add(id)
        this.emit('peer:up', {
          t,
          node: node.name,
          peer: peerName(id),
          text: `${node.name}: peer:up ${peerName(id)} (${String(event.direction)})`,
          fields: { direction: event.direction },
        })
        break
      }
      case 'peer:down': {
        const id = String(event.id)
        node.up.delete(id)
        this.emit('peer:down', {
          t,
          node: node.name,
          peer: peerName(id),
          text: `${node.name}: peer:down ${peerName(id)} (${String(event.reason)})`,
          fields: { reason: event.reason },
        })
        break
      }
      case 'provider:added':
      case 'provider:removed': {
        const service = String(event.service)
        const id = String(event.id)
        const set = node.providers.get(service) ?? new Set<string>()
        node.providers.set(service, set)
        if (event.event === 'provider:added') set.add(id)
        else set.delete(id)
        break
      }
      case 'stats': {
        const peers = Array.isArray(event.peers) ? (event.peers as Array<Record<string, unknown>>) : []
        node.links = peers.map((p) => ({
          id: String(p.id),
          name: p.name === undefined ? undefined : String(p.name),
          rtt: typeof p.rtt === 'number' ? p.rtt : undefined,
          received: Number(p.received) || 0,
        }))
        const received = Number(event.messagesReceived) || 0
        const now = Date.now()
        if (node.lastStats !== undefined && now > node.lastStats.at) {
          node.rate = Math.max(0, ((received - node.lastStats.received) * 1000) / (now - node.lastStats.at))
        }
        node.lastStats = { at: now, received }
        this.emit('update', { t, node: node.name, text: '' })
        break
      }
    }
  }

  /** True when every running node has every other running node up. */
  formed(): boolean {
    const running = this.nodes.filter((n) => n.state === 'up')
    if (running.length !== this.nodes.length) return false
    return running.every((n) => running.every((m) => m === n || n.up.has(m.id)))
  }

  /** Kills a node with SIGKILL (a crash: its peers notice through the QUIC idle timeout). */
  kill(node: DemoNodeState): void {
    const child = this.#children.get(node.index)
    node.state = 'killed'
    child?.kill('SIGKILL')
    this.emit('node', {
      t: this.elapsed(),
      node: node.name,
      text: `${node.name} killed (SIGKILL, pid ${child?.pid})`,
      fields: { state: 'killed', pid: child?.pid },
    })
  }

  /**
   * Starts a killed node again with the same identity on the same port. A node whose process still
   * runs is killed first (SIGKILL): the new process replaces it, never runs beside it.
   */
  restart(node: DemoNodeState): void {
    const running = this.#children.get(node.index)
    if (running !== undefined && running.exitCode === null && running.signalCode === null) {
      running.kill('SIGKILL')
    }
    node.state = 'restarting'
    this.emit('node', {
      t: this.elapsed(),
      node: node.name,
      text: `${node.name} restarting (same identity, 127.0.0.1:${node.port})`,
      fields: { state: 'restarting' },
    })
    this.#spawn(node, node.port ?? 0)
  }

  /** Recent stderr lines of a node, for error reports. */
  stderrOf(node: DemoNodeState): readonly string[] {
    return this.#stderr.get(node.index) ?? []
  }

  /**
   * Stops every node gracefully (SIGTERM, then SIGKILL after `graceMs`, default 5000), waits for
   * them to exit and removes the temporary directory. `signal` only cuts the grace: when it aborts
   * (or is already aborted), the nodes still running are killed at once (SIGKILL) and the teardown
   * finishes; `close` resolves either way, without an `AbortError`. Idempotent: a later call
   * returns the same teardown, and its `signal` cuts the grace too. A `graceMs` that is not a
   * number >= 0 rejects with a {@link DemoConfigError} and stops nothing.
   */
  close(options?: DemoCloseOptions): Promise<void>
  /** The older form of `close({ graceMs })`. */
  close(graceMs: number): Promise<void>
  async close(options: DemoCloseOptions | number = {}): Promise<void> {
    const { graceMs, signal }: DemoCloseOptions = typeof options === 'number' ? { graceMs: options } : options
    const grace = numberOption(graceMs, 'graceMs', 5000, { min: 0 }, DemoConfigError)
    const hurry = () => this.#hurry.abort()
    let off: (() => void) | undefined
    if (signal?.aborted === true) hurry()
    else if (signal !== undefined) off = whenAborted(signal, hurry)
    try {
      this.#closing ??= this.#teardown(grace)
      await this.#closing
    } finally {
      off?.()
    }
  }

  async #teardown(graceMs: number): Promise<void> {
    this.#closed = true
    const stopping = [...this.#children.entries()].map(([index, child]) => ({
      child,
      node: this.nodes.find((n) => n.index === index),
    }))
    for (const { node } of stopping) {
      if (node !== undefined && node.state !== 'killed') node.state = 'stopping'
    }
    const overdue = await Promise.all(
      stopping.map(({ child }) => stopChild(child, graceMs, this.#hurry.signal)),
    )
    for (const [i, { node }] of stopping.entries()) {
      if (overdue[i] === true && node !== undefined) this.#overdue.push(node.name)
    }
    if (this.#dir !== undefined) await rm(this.#dir, { recursive: true, force: true })
    process.off('exit', this.#onExit)
  }

  // last resort on process exit: nothing may outlive the demo
  #killAllSync(): void {
    for (const child of this.#children.values()) child.kill('SIGKILL')
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true })
  }
}
