import { whenAborted } from '@peer/discovery-core/internal'
import type { PeerStats } from './types.js'

export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const off = whenAborted(signal, () => reject(signal.reason))
    promise.then(resolve, reject).finally(off)
  })
}

/** Fresh counters of one peer. */
export function emptyPeerStats(): PeerStats {
  return {
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    requestsSent: 0,
    requestsReceived: 0,
    timeouts: 0,
    errorsReceived: 0,
    malformed: 0,
    unexpected: 0,
    unhandled: 0,
    inFlight: 0,
    rtt: undefined,
    messagesDropped: 0,
    protocolErrors: 0,
    byteStreams: 0,
    unconfirmed: 0,
  }
}
