/**
 * QUIC transport for peer: pinned mutual TLS 1.3 in libp2p's certificate scheme (ALPN `libp2p`)
 * for `@peer/identity` identities, bidirectional streams, framed message channels with
 * backpressure, keepalive / idle timeout and graceful close. Two QUIC engines (quinn and
 * `@matrixai/quic`) sit behind one small interface and share one wire.
 *
 * @packageDocumentation
 */

export { DEFAULT_CHANNEL_OPTIONS } from './channel-options.js'
export { ALPN, type EngineCapabilities, type EngineName } from './engine.js'
export { engineCapabilities } from './engine-capabilities.js'
export { DEFAULT_ENGINE, ENGINE_NAMES } from './engine-select.js'
export {
  type CloseInfo,
  ConnectionClosedError,
  ConnectTimeoutError,
  describeClose,
  FrameTooLargeError,
  HandshakeError,
  MalformedFrameError,
  PinningError,
  StreamResetError,
  TransportConfigError,
  TransportError,
  TransportLimitError,
  UntrustedPeerError,
} from './errors.js'
export { LIBP2P_EXTENSION_OID, Libp2pCertificateError } from './libp2p-tls.js'
export { createMessageChannel } from './message-channel.js'
export { createTransport, QuicTransport } from './transport.js'
export { DEFAULT_TUNING, type PathKind, pathKind, type ResolvedTuning, tuningFor } from './tuning.js'
export type {
  ChannelOptions,
  Connection,
  ConnectionEventDetail,
  ConnectionEvents,
  ConnectionStats,
  DialOptions,
  HelloPeer,
  HelloSource,
  Listener,
  ListenerEvents,
  MessageChannel,
  ReceiveBatchOptions,
  Stream,
  StreamEventDetail,
  Transport,
  TransportAddress,
  TransportOptions,
  TransportTuning,
  TrustPolicy,
} from './types.js'
export { CODE, closeCodeFor, MAX_HELLO_BYTES, PROTOCOL_VERSION } from './wire.js'
