import type { EngineCapabilities, EngineName } from './engine.js'

/** What each engine can do (the conformance suite skips scenarios by these). */
export const engineCapabilities: Readonly<Record<EngineName, EngineCapabilities>> = Object.freeze({
  quinn: Object.freeze({
    // the Rust config inside @chainsafe/libp2p-quic calls server_config.migration(false)
    migration: false,
    zeroRtt: false,
    // the binding resets streams and closes connections with code 0
    streamResetCodes: false,
    // the binding does not expose the peer's stream limit: opens wait inside quinn for credit
    peerStreamLimit: false,
    // the binding's client endpoint does not say: it is read from /proc (Linux, like the binary)
    localPort: true,
    // Client::abort() only closes the endpoint; the socket goes with the last binding object (GC)
    socketsFreedOnClose: false,
    // the binding's Server binds its own socket and applies neither buffer size (its Client does)
    listenerSocketBuffers: false,
    // this quinn build refuses ECDSA host keys
    keyTypes: Object.freeze(['ed25519'] as const),
    // the binding's QuinnConfig has no such fields: it sizes UDP payloads itself and takes only
    // the two window limits
    ignoredTuning: Object.freeze([
      'maxSendUdpPayloadSize',
      'maxRecvUdpPayloadSize',
      'initialMaxData',
      'initialMaxStreamData',
    ] as const),
  }),
  matrixai: Object.freeze({
    migration: true,
    zeroRtt: false,
    streamResetCodes: true,
    peerStreamLimit: true,
    localPort: true,
    socketsFreedOnClose: true,
    listenerSocketBuffers: true,
    keyTypes: Object.freeze(['ed25519', 'p256'] as const),
    ignoredTuning: Object.freeze([] as const),
  }),
})
