import { describeDiscoveryCompliance } from '@peer/discovery-compliance/vitest'
import { MyRegistryDiscovery } from './my-registry-backend.js'
import { MyRegistry, MyRegistryClient } from './my-registry-client.js'

describeDiscoveryCompliance(
  'myregistry',
  () => {
    let registry = new MyRegistry()
    return {
      async setup({ count, selves }) {
        registry = new MyRegistry() // one registry per scenario, shared by its instances
        return selves
          .slice(0, count)
          .map((self) => new MyRegistryDiscovery(new MyRegistryClient(registry), { self: self.id }))
      },
      async seedInvalid() {
        registry.write({ type: 'put', id: 'garbage', value: '{not json' })
      },
      async teardown() {
        registry.watchers.clear()
      },
    }
  },
  { capabilities: ['announce', 'list', 'watch'] },
)
