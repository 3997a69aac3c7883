// vitest setup file: the test process runs in the root network namespace, where no test may open
// an mDNS socket. Any attempt (binding the mDNS port or joining a multicast group) throws here,
// so a test that forgets to move its backend into a namespace fails loudly instead of
// multicasting on the host's network. Backends live in child processes inside namespaces.
import dgram from 'node:dgram'
import { inTestNetns } from '@peer/testkit/netns'

/** Thrown when a test tries to use multicast from the root namespace. */
export class RootNamespaceMulticastError extends Error {
  constructor(what: string) {
    super(`${what} in the root network namespace: run mDNS in a namespace the test creates`)
    this.name = 'RootNamespaceMulticastError'
  }
}

if (!inTestNetns()) {
  const proto = dgram.Socket.prototype as unknown as Record<string, (...args: unknown[]) => unknown>
  const bind = proto.bind!
  proto.bind = function (this: dgram.Socket, ...args: unknown[]) {
    const first = args[0]
    const port = typeof first === 'object' && first !== null ? (first as { port?: number }).port : first
    if (port === 5353) throw new RootNamespaceMulticastError('binding UDP port 5353')
    return bind.apply(this, args)
  }
  for (const method of ['addMembership', 'addSourceSpecificMembership', 'setMulticastInterface']) {
    proto[method] = () => {
      throw new RootNamespaceMulticastError(`dgram ${method}()`)
    }
  }
  ;(globalThis as { __peerRootMulticastGuard?: boolean }).__peerRootMulticastGuard = true
}
