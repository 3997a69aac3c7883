// Compile-time proof (checked by `tsc`) that the real packages meet the registry's interfaces,
// plus a run-time check on the ones that need no network.
import type { Discovery } from '@peer/discovery-core'
import { TrustList } from '@peer/identity'
import type {
  PeerSource,
  RegistryConnection,
  RegistryTransport,
  ServerLike,
  ServerRegistry,
  TrustStore,
} from '@peer/registry'
import type { Connection, Listener, Transport } from '@peer/transport-quic'
import { describe, expect, it } from 'vitest'

export const listenerIsServerLike = (listener: Listener): ServerLike => listener
export const connectionIsRegistryConnection = (connection: Connection): RegistryConnection => connection
export const transportIsRegistryTransport = (transport: Transport): RegistryTransport<Connection> => transport
export const trustListIsTrustStore = (trust: TrustList): TrustStore => trust
export const discoveryIsPeerSource = (discovery: Discovery): PeerSource => discovery
export const listenerConnectionsAreConnections = (servers: ServerRegistry<Listener>): Connection[] =>
  servers.getConnections('peer')

describe('interfaces', () => {
  it('a TrustList is a TrustStore', () => {
    const store: TrustStore = new TrustList()
    expect(typeof store.has).toBe('function')
    expect(typeof store.addEventListener).toBe('function')
  })
})
