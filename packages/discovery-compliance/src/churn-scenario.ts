// Peers that come and go must leave nothing behind in a backend that watches them: a long-running
// node sees every deploy of a cluster bring new identities, and whatever a backend keeps per lost
// peer grows with the cluster's history, not its size.
import assert from 'node:assert/strict'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { LocalPeer } from '@peer/discovery-core'
import { assertMiss, eventually, sleep } from './checks.js'
import type { Scenario } from './scenario.js'
import { selvesFor } from './selves.js'

/** Publishers (instances 1..PUBLISHERS) and rounds: PUBLISHERS x ROUNDS identities come and go. */
const PUBLISHERS = 3
const ROUNDS = 3

/** A full garbage collection, without requiring node to run with `--expose-gc`. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

export const churn: Scenario = {
  name: 'peers that come and go leave nothing behind (lookup, list, and their records are let go)',
  instances: 1 + PUBLISHERS,
  // a discovery and a loss per round, then the collection
  propagations: 2 * ROUNDS + 1,
  needs: { publish: true, unpublish: true },
  async run({ instances, publish, unpublish, timeout }) {
    const watcher = instances[0]!
    const held: WeakRef<object>[] = []
    const seen = { discovered: new Set<string>(), lost: new Set<string>() }
    const listener = (event: Event) => {
      const { record } = (event as CustomEvent<{ record: { id: string } }>).detail
      held.push(new WeakRef(record))
      if (event.type === 'peer:discovered') seen.discovered.add(record.id)
      if (event.type === 'peer:lost') seen.lost.add(record.id)
    }
    const types = ['peer:discovered', 'peer:updated', 'peer:lost'] as const
    for (const t of types) watcher.addEventListener(t, listener)
    const gone: LocalPeer[] = []
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // fresh identities every round, as a redeployed cluster brings
        const peers = selvesFor(`churn round ${round}`, PUBLISHERS)
        // one at a time: a harness's seed() need not be safe to call concurrently
        for (const [i, p] of peers.entries()) await publish(i + 1, p)
        await eventually(
          () => peers.every((p) => seen.discovered.has(p.id)),
          timeout,
          `round ${round}: not every published peer produced peer:discovered`,
        )
        for (const [i, p] of peers.entries()) await unpublish(i + 1, p)
        await eventually(
          () => peers.every((p) => seen.lost.has(p.id)),
          timeout,
          `round ${round}: not every removed peer produced peer:lost`,
        )
        gone.push(...peers)
      }
    } finally {
      for (const t of types) watcher.removeEventListener(t, listener)
    }
    for (const p of gone) {
      assertMiss(await watcher.lookup(p.id), `lookup(id) still finds lost peer ${p.id}`)
      assertMiss(await watcher.lookup(p.name!), `lookup(name) still finds lost peer ${p.name}`)
    }
    if (watcher.capabilities.has('list')) {
      const listed = new Set((await watcher.list!()).map((r) => r.id))
      const still = gone.filter((p) => listed.has(p.id))
      assert.equal(still.length, 0, `list() still has ${still.length} of ${gone.length} lost peers`)
    }
    // every record the backend handed out for them can be collected: the backend keeps none
    await eventually(
      async () => {
        collectGarbage()
        await sleep(20)
        return held.every((r) => r.deref() === undefined)
      },
      timeout,
      `the backend still holds records of lost peers (${held.filter((r) => r.deref() !== undefined).length} of ${held.length} records emitted for them)`,
    )
  },
}
