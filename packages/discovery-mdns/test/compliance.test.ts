// The compliance kit against MdnsDiscovery instances living in a child process inside a fresh
// network namespace (multicast over that namespace's loopback), driven through proxies.
import { describeDiscoveryCompliance } from '@peer/discovery-compliance/vitest'
import { mdnsHarness } from './helpers/harness.js'

describeDiscoveryCompliance('mdns (in a network namespace)', () => mdnsHarness(), {
  capabilities: ['announce', 'list', 'watch', 'expiry'],
})
