/**
 * Internals of @peer/discovery-mdns: names this package's tests and its sibling `@peer/*` packages use, which
 * are not part of the public API (no semver guarantee; they change or go without notice).
 * @internal
 * @packageDocumentation
 */
export { type DropReason, type IntakeResult, PacketIntake, type PacketIntakeOptions } from './intake.js'
export {
  type Destination,
  InterfaceSocket,
  type InterfaceSocketOptions,
  MDNS_IPV4_GROUP,
  MDNS_IPV6_GROUP,
} from './interface-socket.js'
export { splitQuery } from './query-split.js'
