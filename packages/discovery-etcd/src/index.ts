/**
 * Peer discovery through etcd v3: each node announces itself under `<prefix>/nodes/<id>` with a
 * versioned JSON value attached to a lease, and every node lists and watches the prefix.
 *
 * - `EtcdDiscovery`: the backend (capabilities `announce`, `list`, `watch`, `expiry`), with
 *   self-healing for lost leases, cancelled or compacted watches, an etcd restarted with an empty
 *   data dir, an unreachable etcd (stale limit) and failover between cluster members.
 * - The key layout and value codec (`nodeKey`, `encodeNodeValue`, `decodeNodeValue`), so other
 *   tools can register nodes.
 * - `createEtcdClient`: the tuned etcd3 client the backend uses.
 *
 * @packageDocumentation
 */
export { EtcdConfigError, EtcdDiscoveryError, InvalidEtcdOptionsError } from './errors.js'
export { createEtcdClient, type EtcdClientOptions, KEEPALIVE_MS } from './etcd-client.js'
export {
  EtcdDiscovery,
  type EtcdDiscoveryCounters,
  type EtcdDiscoveryOptions,
  type EtcdListOptions,
} from './etcd-discovery.js'
export {
  DEFAULT_MAX_VALUE_BYTES,
  type DecodeResult,
  decodeNodeValue,
  encodeNodeValue,
  idFromKey,
  NODE_VALUE_VERSION,
  type NodeValue,
  nodeKey,
  nodesPrefix,
  normalizePrefix,
} from './node-value.js'
