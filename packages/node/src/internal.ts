/**
 * Internals of @peer/node: names this package's tests and its sibling `@peer/*` packages use, which
 * are not part of the public API (no semver guarantee; they change or go without notice).
 * @internal
 * @packageDocumentation
 */
export {
  decodeEnvelope,
  decodeValue,
  ENVELOPE_VERSION,
  type Envelope,
  type EnvelopeKind,
  encodeEnvelope,
  encodeValue,
  KIND,
  MAX_ACK_COUNT,
  MAX_REQUEST_ID,
  type WireError,
  type WireErrorType,
} from './envelope.js'
export {
  BULK_LANES,
  CONTROL_LANE,
  LANE_COUNT,
  NORMAL_LANES,
  priorityClass,
  SMALL_ANSWER_BYTES,
} from './lanes.js'
