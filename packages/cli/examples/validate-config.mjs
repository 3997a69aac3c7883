// Run: node examples/validate-config.mjs
// Validates peer.json-style configurations the way `peer start --config` does, and prints the
// error for a bad one: every problem names its field.
import { ConfigError, parseConfig } from '@peer/cli'

const good = parseConfig(
  {
    name: 'app@localhost',
    identity: './identity',
    listen: '127.0.0.1:4001',
    trust: 'trust.json',
    discovery: [{ backend: 'static', file: 'peers.json' }],
  },
  { file: '/etc/peer/peer.json' },
)
console.log(`ok: listen ${good.listen.host}:${good.listen.port}, identity ${good.identity}`)

try {
  parseConfig(
    { listen: '127.0.0.1:99999', discovery: [{ backend: 'etcd', endpoints: ['localhost:2379'] }] },
    { file: 'peer.json' },
  )
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  for (const p of error.problems) console.log(`bad: ${p.field}: ${p.message}`)
}
