// The engine interface: everything above it (connections, listeners, channels, the transport)
// talks to these small types only, so a QUIC engine can be swapped in one place. Two engines
// implement it: quinn (Rust, `engine-quinn.ts`) and @matrixai/quic (`engine-matrixai.ts`); both
// speak the libp2p TLS scheme (`libp2p-tls.ts`), so they share one wire.
import type { Logger as PeerLogger } from '@peer/discovery-core'
import type { Identity } from '@peer/identity'
import type { CloseInfo } from './errors.js'
import { LIBP2P_ALPN } from './libp2p-tls.js'
import type { ResolvedTuning } from './tuning.js'
import type { ConnectionStats, TransportAddress, TransportTuning } from './types.js'

/**
 * ALPN protocol id on the wire: libp2p's TLS scheme requires `libp2p` (peer's own version is checked
 * in-band).
 */
export const ALPN = LIBP2P_ALPN

/** What a listener answers to an id its trust policy rejects (TLS alert access_denied, 0x100 + 49). */
export const ACCESS_DENIED = 0x100 + 49 // 305

/** The engines. */
export type EngineName = 'quinn' | 'matrixai'

/** What an engine can do; the conformance suite skips a scenario by declared capability. */
export interface EngineCapabilities {
  /** A client that reappears on a new address keeps its connection (passive migration). */
  readonly migration: boolean
  /** 0-RTT resumption. */
  readonly zeroRtt: boolean
  /** Stream resets carry the application error code to the peer. */
  readonly streamResetCodes: boolean
  /**
   * The engine knows the peer's stream limit, so opens beyond it queue in the transport (bounded by
   * `maxQueuedStreamOpens`). Without it they wait inside the engine, up to our own `maxStreams`.
   */
  readonly peerStreamLimit: boolean
  /** A dialed connection knows its local UDP port. */
  readonly localPort: boolean
  /**
   * A closed transport's sockets close without a garbage collection. quinn's client endpoint (one
   * UDP socket per dialed address) closes only when the binding's objects are collected: its
   * `abort()` closes the QUIC endpoint, not the socket, and every binding connection and stream
   * holds the socket (quinn keeps an `Arc` of it). The transport lets go of all of them at close,
   * so the first garbage collection after it frees the socket, whatever the application holds.
   */
  readonly socketsFreedOnClose: boolean
  /**
   * A listener's UDP socket gets `socketBufferSize` (up to the kernel's `net.core.rmem_max`).
   * quinn's binding sizes only its client sockets: a listener keeps the kernel's default
   * (`net.core.rmem_default`), and the transport logs the shortfall once at `info`.
   */
  readonly listenerSocketBuffers: boolean
  /** Identity key types the engine can present. */
  readonly keyTypes: readonly Identity['keyType'][]
  /**
   * Tuning fields the engine does not apply (its configuration has no such setting); a transport
   * given one logs a warning naming it.
   */
  readonly ignoredTuning: readonly (keyof TransportTuning)[]
}

/**
 * Reads and writes of an engine stream without web streams: one engine call each, the same
 * results, errors and bookkeeping as `readable` and `writable`. For an owner that holds both
 * sides for the stream's life (a message channel holds its reader and writer): web streams cost
 * several promises per chunk on a request's path. Called as methods (`direct.read()`): an engine
 * may implement them on a class.
 */
export interface DirectIo {
  /** The next chunk, or `null` at the end; rejects like a read of `readable`. */
  read(): Promise<Uint8Array | null>
  /** Hands `chunk` to the engine; rejects like a write to `writable`. */
  write(chunk: Uint8Array): Promise<void>
  /** Ends the write side once the writes given before are handed over, as closing `writable` does. */
  finish(): Promise<void>
}

/** A QUIC stream as the rest of the package sees it. */
export interface EngineStream {
  readonly id: number
  readonly readable: ReadableStream<Uint8Array>
  readonly writable: WritableStream<Uint8Array>
  /** See {@link DirectIo}; only engines whose own calls are cheaper than web streams offer it. */
  readonly direct?: DirectIo
  reset(code: number): void
  /**
   * Makes reads hand out views of the engine's read buffer instead of copies; returns the function
   * to call after each chunk is fully consumed (before reading again). Undefined when unavailable.
   */
  lendReads?(): (() => void) | undefined
  /**
   * Set by an owner that buffers writes itself (a message channel): called once when our side
   * starts closing the connection, so the owner ends the write side after what it buffered. The
   * peer's reads then end and it answers the close at once. Without it, an engine that finishes
   * write sides on close (quinn) does so once the writable has been idle for a turn. Returns once
   * what the owner buffered was handed over (an engine that closes without waiting for the peer's
   * answer waits for that, bounded).
   */
  onClosing?: () => Promise<void> | void
}

/** A QUIC connection as the rest of the package sees it. */
export interface EngineConnection {
  readonly remoteId: string
  readonly remoteAddress: TransportAddress
  readonly localAddress: TransportAddress
  /** Smoothed RTT in whole ms, rounded down (0 under 1 ms), if the engine reports it. */
  rtt(): number | undefined
  /** The engine's counters, if it keeps them; after close, their final values. */
  stats?(): ConnectionStats | undefined
  /** Bidirectional streams we may still open before the peer's limit. */
  streamsLeft(): number
  /** Opens a bidirectional stream; an engine that waits for stream credit itself honours `signal`. */
  openStream(signal?: AbortSignal): EngineStream | Promise<EngineStream>
  /** Set by the owner: called for each stream the peer opens. Must not throw. */
  onStream: (stream: EngineStream) => void
  /** Resolves once with how the connection ended. Never rejects. */
  readonly closed: Promise<CloseInfo>
  /** Closes with an application code and reason. Idempotent. */
  close(code: number, reason: string): Promise<void>
  /** The peer announced its close (a close notice stream): record why and close our side. */
  closedByPeer(code: number, reason: string): void
}

/** A bound QUIC server. */
export interface EngineServer {
  readonly address: TransportAddress
  /** Set by the owner: called for each connection that passed the handshake. Must not throw. */
  onConnection: (connection: EngineConnection) => void
  /** Set by the owner: called for each client refused during the handshake. Must not throw. */
  onReject: (id: string | undefined, reason: string) => void
  stop(reason: string): Promise<void>
}

/** @internal Engine options derived from the transport's options. */
export interface EngineContext {
  identity: Identity
  tuning: ResolvedTuning
  logger: PeerLogger
  /** Level passed to the engine's logger; SILENT unless a real logger was given. */
  engineLogLevel: 'silent' | 'debug' | 'info' | 'warn' | 'error'
}

/** One engine: listens and dials. */
export interface Engine {
  readonly name: EngineName
  readonly capabilities: EngineCapabilities
  listen(
    ctx: EngineContext,
    address: TransportAddress,
    verifyClient: (id: string) => Promise<boolean>,
  ): Promise<EngineServer>
  dial(
    ctx: EngineContext,
    address: TransportAddress,
    expectedId: string,
    signal: AbortSignal | undefined,
  ): Promise<EngineConnection>
  /** Releases what the engine keeps for its transport (client endpoints). Idempotent. */
  close(): Promise<void>
}

/** @internal Exposed for tests: the engine object behind an `EngineStream`. */
export const ENGINE_OBJECT = Symbol('peer.engineObject')
