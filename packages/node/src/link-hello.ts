// How a link learns its peer's `hello` (name, message size limit) and knows the peer took the
// connection: from the transport's hello bytes when both nodes gave one (see node-start), else by
// the exchange of `hello` envelopes on the control lane (peers of versions before transport hellos).
import { errorMessage, linkSignals } from '@peer/discovery-core/internal'
import { type Connection, ConnectionClosedError, type MessageChannel } from '@peer/transport-quic'
import { decodeEnvelope, type Envelope, encodeEnvelope } from './envelope.js'
import { MalformedEnvelopeError, PeerUnavailableError, unavailableFromClose } from './errors.js'
import type { LinkHost } from './link-host.js'
import { raceAbort } from './link-util.js'
import type { OutLane } from './out-lane.js'
import type { Hello, LinkReceiver } from './peer-link-receive.js'

/** What the hello needs of its link. @internal */
export interface HelloContext {
  readonly id: string
  readonly connection: Connection
  readonly host: LinkHost
  readonly receiver: LinkReceiver
  /** The link's control lane (lane 0). */
  readonly control: OutLane
  /** Aborted when the link ends. */
  readonly lifetime: AbortSignal
  openChannel(signal: AbortSignal): Promise<MessageChannel>
  malformed(error: unknown): void
}

/** The peer's hello, once the link may be used; throws `PeerUnavailableError` otherwise. @internal */
export function linkHello(ctx: HelloContext): Promise<Hello> {
  const remote = ctx.connection.remoteHello
  return remote === undefined ? exchangeHello(ctx) : helloFromTransport(ctx, remote)
}

/**
 * Both nodes gave their transport a hello: it came with the connection, so the link is up at
 * once, except on a connection we dialed to a lower id whose listener did not promise to keep it
 * (`adopted` in its hello, given when its registry had no connection to us and no dial of its own
 * to us in flight or queued, see `PeerRegistry.expectInbound`): that one can still lose to the
 * peer's simultaneous dial (the registries keep the connection dialed by the lower id), so it
 * waits for the peer's first lane, which the peer opens once its node took the connection. An
 * inbound link opens its control lane at once for that reason (and so its first answer finds it
 * open); other lanes open on first use, with a `lane` envelope.
 */
async function helloFromTransport(ctx: HelloContext, bytes: Uint8Array): Promise<Hello> {
  let hello: Envelope
  try {
    hello = decodeEnvelope(bytes)
    if (hello.kind !== 'hello')
      throw new MalformedEnvelopeError('unexpected', `expected hello, got ${hello.kind}`)
  } catch (error) {
    void ctx.receiver.acceptChannels()
    ctx.malformed(error)
    throw new PeerUnavailableError(ctx.id, `its hello is not valid: ${errorMessage(error)}`, {
      cause: error,
      reason: 'protocol-error',
    })
  }
  const superseded =
    ctx.connection.direction === 'outbound' && ctx.host.localId > ctx.id && hello.adopted !== true
  // listening for the first lane before the lanes are accepted, so it cannot be missed
  const adopted = superseded ? ctx.receiver.firstLane() : undefined
  void ctx.receiver.acceptChannels()
  if (ctx.connection.direction === 'inbound') ctx.control.open()
  if (adopted !== undefined) {
    await withinHelloTimeout(ctx, (signal) => raceAbort(adopted, signal), 'it did not take the connection')
  }
  return hello
}

/** The hello exchange on the control lane (a peer whose transport carried no hello). */
function exchangeHello(ctx: HelloContext): Promise<Hello> {
  const helloReceived = ctx.receiver.hello()
  void ctx.receiver.acceptChannels()
  return withinHelloTimeout(
    ctx,
    async (signal) => {
      const [, hello] = await Promise.all([
        ctx.openChannel(signal).then(async (out) => {
          ctx.control.attach(out)
          const hello = { kind: 'hello', name: ctx.host.localName, maxMessageSize: ctx.host.maxMessageSize }
          await ctx.control.enqueue(encodeEnvelope(hello as Envelope, Infinity))
          await out.flush()
        }),
        raceAbort(helloReceived, signal),
      ])
      return hello
    },
    'no hello',
  )
}

/** Runs `step` within `helloTimeout` and the link's lifetime, with the errors a link reports. */
async function withinHelloTimeout<T>(
  ctx: HelloContext,
  step: (signal: AbortSignal) => Promise<T>,
  late: string,
): Promise<T> {
  const wait = linkSignals([ctx.lifetime], ctx.host.helloTimeout)
  try {
    return await step(wait.signal)
  } catch (error) {
    if (error instanceof ConnectionClosedError) throw unavailableFromClose(ctx.id, error.info)
    if (wait.timedOut) {
      throw new PeerUnavailableError(ctx.id, `${late} within ${ctx.host.helloTimeout} ms`, {
        reason: 'protocol-error',
      })
    }
    throw error
  } finally {
    wait.release()
  }
}
