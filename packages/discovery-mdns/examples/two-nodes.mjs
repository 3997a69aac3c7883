// Two nodes on one machine find each other over mDNS, then one leaves.
// Run: node examples/two-nodes.mjs on a LAN, or in a private network namespace (as root):
//   ip netns add demo && ip -n demo link set lo up multicast on && ip -n demo route add 224.0.0.0/4 dev lo
//   ip netns exec demo node examples/two-nodes.mjs
import { createHash } from 'node:crypto'
import { MdnsDiscovery } from '@peer/discovery-mdns'

// a node id is the base32 SHA-256 of the node's public key; any 32 bytes do for a demo
const idFor = (seed) => {
  const bytes = createHash('sha256').update(seed).digest()
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += 'abcdefghijklmnopqrstuvwxyz234567'[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  return out + 'abcdefghijklmnopqrstuvwxyz234567'[(value << (5 - bits)) & 31]
}

const alice = new MdnsDiscovery({ ttl: 30 })
const bob = new MdnsDiscovery({ ttl: 30 })

bob.addEventListener('peer:discovered', ({ detail }) => {
  const { name, addresses, meta } = detail.record
  console.log(
    `discovered ${name} at ${addresses.map((a) => `${a.host}:${a.port}`).join(', ')} ${JSON.stringify(meta)}`,
  )
})
bob.addEventListener('peer:lost', ({ detail }) =>
  console.log(`lost ${detail.record.name} (${detail.reason})`),
)

const found = new Promise((resolve) =>
  bob.addEventListener('peer:discovered', () => resolve(), { once: true }),
)
const lost = new Promise((resolve) => bob.addEventListener('peer:lost', () => resolve(), { once: true }))

await Promise.all([alice.start(), bob.start()])
await alice.announce({
  id: idFor('alice'),
  name: 'alice@demo',
  addresses: [{ host: '0.0.0.0', port: 4000 }],
  meta: { role: 'web' },
})
await bob.announce({ id: idFor('bob'), name: 'bob@demo', addresses: [{ host: '0.0.0.0', port: 4001 }] })

try {
  await found
  await alice.stop() // goodbye packets: bob sees peer:lost about a second later
  await lost
} finally {
  await Promise.all([alice.stop(), bob.stop()])
}
