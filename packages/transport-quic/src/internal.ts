/**
 * Internals of @peer/transport-quic: names this package's tests and its sibling `@peer/*` packages use, which
 * are not part of the public API (no semver guarantee; they change or go without notice).
 * @internal
 * @packageDocumentation
 */

export { ChunkPool } from './chunk-pool.js'
export { SENT } from './message-channel.js'
export { defaultWorkerThreads, withWorkerThreads } from './quinn-binding.js'
export { kernelReceiveBuffers, receiveBufferShortfall } from './socket-buffers.js'
export { KIND_CHANNEL, KIND_CLOSE, KIND_CONTROL, KIND_STREAM, withPrefix } from './wire.js'
