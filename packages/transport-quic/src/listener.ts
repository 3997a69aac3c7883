import { type Logger, shortId, TypedEventTarget } from '@peer/discovery-core'
import { type ConnectionContext, QuicConnection } from './connection.js'
import type { EngineServer } from './engine.js'
import type { Connection, Listener, ListenerEvents, TransportAddress } from './types.js'
import { CODE } from './wire.js'

/**
 * A bound QUIC server (see {@link Listener}).
 * @internal Created by `Transport.listen`.
 */
export class QuicListener extends TypedEventTarget<ListenerEvents> implements Listener {
  readonly address: TransportAddress
  readonly closed: Promise<void>
  /** Clients refused (each one a `connection:rejected` event). */
  rejected = 0
  readonly #server: EngineServer
  readonly #connections = new Set<QuicConnection>()
  readonly #logger: Logger
  readonly #maxConnections: number
  readonly #onClosing: () => void
  #confirming = 0
  #closing: Promise<void> | undefined
  #refusing: string | undefined
  #resolveClosed!: () => void

  constructor(
    server: EngineServer,
    ctx: ConnectionContext,
    maxConnections: number,
    handshakeTimeoutMs: number,
    onClosed: () => void,
    onClosing: () => void = () => {},
  ) {
    super()
    this.#server = server
    this.#logger = ctx.logger
    this.#maxConnections = maxConnections
    this.#onClosing = onClosing
    this.address = server.address
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve
    })
    void this.closed.then(onClosed)
    server.onReject = (id, reason) => {
      this.rejected++
      this.#logger.info('client refused', { id, reason })
      this.emit('connection:rejected', { ...(id === undefined ? {} : { id }), reason })
    }
    server.onConnection = (engine) => {
      const connection = new QuicConnection(engine, 'inbound', ctx)
      // connections still in the hello exchange count too, so a flood of handshakes is bounded
      const refusing = this.#closing !== undefined ? 'listener closing' : this.#refusing
      if (refusing !== undefined || this.#connections.size + this.#confirming >= this.#maxConnections) {
        this.#refuse(connection, refusing ?? 'too many connections')
        return
      }
      this.#confirming++
      void connection.sendHello(handshakeTimeoutMs).then((confirmed) => {
        this.#confirming--
        if (!confirmed) {
          connection.confirm(false)
          this.#logger.debug('client did not confirm the connection', { peer: shortId(connection.remoteId) })
          return
        }
        if (connection.isClosed) {
          connection.confirm(false)
          return
        }
        // the listener began to refuse (or close) while this client was confirming
        const refusing = this.#closing !== undefined ? 'listener closing' : this.#refusing
        if (refusing !== undefined) {
          this.#refuse(connection, refusing)
          return
        }
        this.#connections.add(connection)
        void connection.closed.then(() => this.#connections.delete(connection))
        this.#logger.debug('connection accepted', {
          peer: shortId(connection.remoteId),
          from: `${connection.remoteAddress.host}:${connection.remoteAddress.port}`,
        })
        this.emit('connection', { connection })
        connection.confirm(true)
      })
    }
  }

  get connections(): Connection[] {
    return [...this.#connections]
  }

  stopAccepting(reason = 'not accepting connections'): void {
    this.#refusing ??= reason
  }

  /**
   * Refuses a client the listener will not serve (closing, refusing, over its limit), before or
   * during the hello exchange: counted, `connection:rejected`, closed with `reason` and code
   * `SHUTDOWN` for `shutdown`, `LIMIT_EXCEEDED` otherwise (never code 0, a normal close).
   */
  #refuse(connection: QuicConnection, reason: string): void {
    this.rejected++
    this.emit('connection:rejected', {
      id: connection.remoteId,
      reason,
      remoteAddress: connection.remoteAddress,
    })
    connection.confirm(false)
    void connection.close(reason, reason === 'shutdown' ? CODE.SHUTDOWN : CODE.LIMIT_EXCEEDED)
  }

  close(reason = 'listener closed'): Promise<void> {
    this.#closing ??= (async () => {
      this.#onClosing()
      await Promise.all([...this.#connections].map((c) => c.close(reason)))
      await this.#server.stop(reason)
      this.emit('close', { reason })
      this.#resolveClosed()
    })()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
