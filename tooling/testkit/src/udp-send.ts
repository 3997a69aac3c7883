// Sends raw UDP datagrams from a plain socket: by default to the mDNS group from port 5353, as the
// mDNS test hosts do inside a network namespace (never from the root namespace, see
// root-namespace-guard.ts).
import { createSocket } from 'node:dgram'

/** Sends `payloads` to `host:port` from a socket bound to `fromPort`; resolves `null` when all are sent. */
export function sendDatagrams(
  payloads: readonly Buffer[],
  host = '224.0.0.251',
  port = 5353,
  fromPort = 5353,
): Promise<null> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4', reuseAddr: true })
    s.on('error', reject)
    s.bind(fromPort, () => {
      let left = payloads.length
      if (left === 0) {
        s.close()
        resolve(null)
      }
      for (const p of payloads) {
        s.send(p, port, host, (error) => {
          if (error) {
            s.close()
            reject(error)
            return
          }
          if (--left === 0) {
            s.close()
            resolve(null)
          }
        })
      }
    })
  })
}
