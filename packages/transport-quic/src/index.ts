/**
 * QUIC transport for peer: pinned mutual TLS 1.3 (ALPN `peer/1`) with certificates from
 * `@peer/identity`, bidirectional streams, framed message channels with backpressure,
 * keepalive / idle timeout and graceful close. The QUIC engine (`@matrixai/quic`) is confined to
 * one module.
 *
 * @packageDocumentation
 */

export { ALPN } from './engine.js'
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
  TransportError,
  TransportLimitError,
  UntrustedPeerError,
} from './errors.js'
export { createMessageChannel, DEFAULT_CHANNEL_OPTIONS } from './message-channel.js'
export { createTransport, QuicTransport } from './transport.js'
export { DEFAULT_TUNING, type PathKind, pathKind, type ResolvedTuning, tuningFor } from './tuning.js'
export type {
  ChannelOptions,
  Connection,
  ConnectionEventDetail,
  ConnectionEvents,
  DialOptions,
  Listener,
  ListenerEvents,
  MessageChannel,
  Stream,
  StreamEventDetail,
  Transport,
  TransportAddress,
  TransportOptions,
  TransportTuning,
  TrustPolicy,
} from './types.js'
export {
  CODE,
  closeCodeFor,
  KIND_CHANNEL,
  KIND_CONTROL,
  KIND_STREAM,
  PROTOCOL_VERSION,
  withPrefix,
} from './wire.js'
