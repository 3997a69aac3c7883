/**
 * Static peer discovery for peer: a list of peers from code, a watched JSON file or an
 * environment variable, plus run-time `add` / `remove` and manual `announcePeer` / `losePeer`.
 *
 * @packageDocumentation
 */
export { StaticConfigError } from './errors.js'
export {
  MAX_LIST_BYTES,
  parseHostPort,
  parsePeerListText,
  type StaticPeer,
  type StaticPeerFile,
  validatePeerList,
} from './peer-list.js'
export { StaticDiscovery, type StaticDiscoveryOptions } from './static-discovery.js'
