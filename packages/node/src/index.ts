/**
 * The peer distribution: one object that wires the QUIC transport, discovery and the peer
 * registry together.
 *
 * - `createNode({ name, identity, listen, discovery, trust })` starts a node: identity generated
 *   or loaded, any set of discovery backends (run as one aggregate), a required trust list.
 * - Topic messaging: `send` (fire and forget), `request` (timeout and `{ signal }`), `handle`
 *   (one handler per topic; handler errors reach the caller as `RemoteError`). Payloads are bytes
 *   or any MessagePack value; messages to one peer on one topic (at one priority) arrive in order.
 * - Lanes: several streams per connection (control, `normal`, `bulk`), picked by topic and
 *   priority, so topics do not wait for each other.
 * - Byte streams: `openStream` / `handleStream` (web streams with backpressure).
 * - No silent loss: `send` is at most once; messages never confirmed by the peer are counted and
 *   reported in `message:dropped`.
 * - Events `peer:up` / `peer:down` / `peer:rejected`, a `peers()` snapshot with per-peer counters
 *   (messages, bytes, RTT), `ping`, and a graceful, bounded `stop()`.
 *
 * @packageDocumentation
 */

export { createNode } from './create-node.js'
export { MAX_ERROR_TEXT, MAX_TOPIC_LENGTH, MIN_MESSAGE_SIZE } from './envelope.js'
export {
  EncodeError,
  HandlerExistsError,
  InvalidTopicError,
  MalformedEnvelopeError,
  type MalformedReason,
  MessageTooLargeError,
  NodeError,
  NodeStoppedError,
  NoHandlerError,
  type PeerStanding,
  PeerUnavailableError,
  type PeerUnavailableReason,
  RemoteError,
  RequestTimeoutError,
  TooManyRequestsError,
} from './errors.js'
export { laneOf, type Priority } from './lanes.js'
export type {
  BatchObservableResultLike,
  CounterLike,
  HistogramLike,
  InstrumentOptionsLike,
  MeterLike,
  MeterProviderLike,
  MetricAttributesLike,
  NodeMetricsOptions,
  ObservableLike,
} from './meter-types.js'
export { METER_NAME } from './metrics.js'
export { MAX_HANDLERS, PeerNode, TRUST_ALL_WARNING } from './node.js'
export {
  type ProviderDetail,
  type ServiceEvents,
  type ServiceStats,
  type ServiceTarget,
  ServiceUnavailableError,
} from './services.js'
export { type StreamRefusal, StreamRefusedError } from './stream-errors.js'
export type { PeerStream, StreamContext, StreamHandler } from './stream-registry.js'
export type {
  HandleOptions,
  Handler,
  HandlerContext,
  HandlerFailedDetail,
  HandlerKind,
  LaneInfo,
  MemberInfo,
  MemberJoinedDetail,
  MemberLeftDetail,
  MessageDroppedDetail,
  NodeCounters,
  NodeEvents,
  NodeOptions,
  NodeRegistryOptions,
  NodeState,
  NodeStats,
  NodeTransportOptions,
  OpenStreamOptions,
  PeerDialFailedDetail,
  PeerDownDetail,
  PeerInfo,
  PeerRejectedDetail,
  PeerStats,
  PeerUpDetail,
  RequestOptions,
  SendOptions,
  StopOptions,
  TrustOption,
} from './types.js'
