// A userland UDP relay between one client and one server: this kernel has no sch_netem, so loss,
// delay, reordering and partitions come from here. The client talks to the relay, the relay talks
// to the server from an "upstream" socket.
//
// - `rebind()` swaps the upstream socket for a new one on a new port, so the server suddenly sees
//   the client's packets from a new address: a NAT rebinding, the case QUIC's passive connection
//   migration exists for.
// - `impair({ loss, delayMs, jitterMs })` drops and delays packets in both directions, from a seeded
//   PRNG so a failing run can be replayed; jitter larger than the packet spacing reorders packets.
// - `partition(true)` drops everything until `partition(false)`.
// Real sockets, real packets; it only ever binds and sends where it is told (loopback or a
// namespace address the test created).
import { createSocket, type Socket } from 'node:dgram'
import { seededRandom } from '@peer/discovery-core/internal'

export interface Impairment {
  /** Probability (0..1) that a packet is dropped, per direction. Default 0. */
  loss?: number
  /** Fixed one-way delay added to each packet, in ms. Default 0. */
  delayMs?: number
  /** Uniform random extra delay in [0, jitterMs) ms; reorders packets when large. Default 0. */
  jitterMs?: number
}

export interface UdpRelayOptions extends Impairment {
  listenHost: string
  target: { host: string; port: number }
  /** Local address for upstream sockets (default: any). */
  upstreamHost?: string
  /** Seed of the PRNG behind loss and jitter (default 1): the same seed drops the same packets. */
  seed?: number
  /**
   * Sees every packet before it is forwarded or dropped (`partition(false)` called here lets this
   * packet through): a test can heal a partition at a chosen packet, e.g. a QUIC Initial.
   */
  onPacket?: (dir: 'up' | 'down', packet: Buffer) => void
}

export interface UdpRelay {
  /** Where the client should send (the relay's downstream socket). */
  readonly address: { host: string; port: number }
  /** Port the server currently sees the client on. */
  readonly upstreamPort: number
  /** Packets forwarded in each direction. */
  readonly forwarded: { up: number; down: number }
  /** Packets dropped in each direction (loss or partition). */
  readonly dropped: { up: number; down: number }
  /** Moves to a fresh upstream socket (new source port). Packets to the old one are dropped. */
  rebind(): Promise<number>
  /** Changes loss and delay from now on (fields left out keep their value). */
  impair(impairment: Impairment): void
  /** While true, every packet in both directions is dropped. */
  partition(on: boolean): void
  close(): Promise<void>
}

async function bind(socket: Socket, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, host, () => {
      socket.off('error', reject)
      resolve()
    })
  })
}

const BUFFER = 4 * 1024 * 1024

export async function createUdpRelay(options: UdpRelayOptions): Promise<UdpRelay> {
  const random = seededRandom(options.seed ?? 1)
  const state: Required<Impairment> = {
    loss: options.loss ?? 0,
    delayMs: options.delayMs ?? 0,
    jitterMs: options.jitterMs ?? 0,
  }
  let partitioned = false
  let closed = false
  const timers = new Set<NodeJS.Timeout>()
  const forwarded = { up: 0, down: 0 }
  const dropped = { up: 0, down: 0 }

  /** Sends now or later, or drops; `dir` names the counters. */
  const forward = (dir: 'up' | 'down', send: () => void, packet: Buffer) => {
    if (closed) return
    options.onPacket?.(dir, packet)
    if (partitioned || (state.loss > 0 && random() < state.loss)) {
      dropped[dir]++
      return
    }
    forwarded[dir]++
    const wait = state.delayMs + (state.jitterMs > 0 ? random() * state.jitterMs : 0)
    if (wait <= 0) return send()
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!closed) send()
    }, wait)
    timers.add(timer)
  }

  const family = options.listenHost.includes(':') ? 'udp6' : 'udp4'
  const down = createSocket(family)
  down.on('error', () => {}) // a relay never dies of a send error (ICMP unreachable and the like)
  await bind(down, options.listenHost)
  let client: { address: string; port: number } | undefined
  let up: Socket
  const upFamily = options.target.host.includes(':') ? 'udp6' : 'udp4'
  const makeUp = async () => {
    const s = createSocket(upFamily)
    s.on('message', (msg) => {
      if (s !== up || client === undefined) return // the old mapping is gone
      const to = client
      forward('down', () => down.send(msg, to.port, to.address, () => {}), msg)
    })
    s.on('error', () => {})
    await bind(s, options.upstreamHost ?? (upFamily === 'udp6' ? '::' : '0.0.0.0'))
    s.setRecvBufferSize(BUFFER)
    s.setSendBufferSize(BUFFER)
    return s
  }
  up = await makeUp()
  down.setRecvBufferSize(BUFFER)
  down.setSendBufferSize(BUFFER)
  down.on('message', (msg, rinfo) => {
    client = { address: rinfo.address, port: rinfo.port }
    const via = up
    forward(
      'up',
      () => {
        if (via === up) via.send(msg, options.target.port, options.target.host, () => {})
      },
      msg,
    )
  })
  return {
    address: { host: options.listenHost, port: down.address().port },
    get upstreamPort() {
      return up.address().port
    },
    forwarded,
    dropped,
    async rebind() {
      const old = up
      up = await makeUp()
      old.close()
      return up.address().port
    },
    impair(impairment) {
      if (impairment.loss !== undefined) state.loss = impairment.loss
      if (impairment.delayMs !== undefined) state.delayMs = impairment.delayMs
      if (impairment.jitterMs !== undefined) state.jitterMs = impairment.jitterMs
    },
    partition(on) {
      partitioned = on
    },
    async close() {
      closed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      up.close()
      down.close()
    },
  }
}
