// Child process for the clean-up test: starts a dnsmasq, prints where, and waits to be killed.
import { startDnsmasq } from '@peer/testkit/dnsmasq'

const server = await startDnsmasq({ zone: { hosts: { 'child.peer.test': ['127.0.0.7'] } } })
process.stdout.write(`${JSON.stringify({ dir: server.dir, address: server.address })}\n`)
setInterval(() => {}, 1000)
