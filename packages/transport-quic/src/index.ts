/**
 * QUIC transport for peer: pinned mutual TLS 1.3 (ALPN `peer/1`) with certificates from
 * `@peer/identity`, bidirectional streams, framed message channels with backpressure,
 * keepalive / idle timeout and graceful close. The QUIC engine (`@matrixai/quic`) is confined to
 * one module.
 *
 * @packageDocumentation
 */
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
