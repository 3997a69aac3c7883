import assert from 'node:assert/strict'
import { quote } from '@peer/discovery-core/internal'
import { assertMiss, eventually, isAbortError, recorder, rejection, sleep } from './checks.js'
import { churn } from './churn-scenario.js'
import type { Scenario } from './scenario.js'
import { selvesFor } from './selves.js'

const lifecycle: Scenario = {
  name: 'start and stop are idempotent; stop before start is a no-op; restart works',
  instances: 1,
  needs: {},
  autoStart: false,
  async run({ instances }) {
    const b = instances[0]!
    await b.stop()
    assert.equal(b.started, false, 'started after stop() before start()')
    await b.start()
    await b.start()
    assert.equal(b.started, true, 'not started after start()')
    await Promise.all([b.start(), b.start()])
    await b.stop()
    await b.stop()
    assert.equal(b.started, false, 'still started after stop()')
    await b.start()
    assert.equal(b.started, true, 'a stopped backend could not be started again')
    await Promise.all([b.stop(), b.stop()])
    assert.equal(b.started, false)
  },
}

const dispose: Scenario = {
  name: '[Symbol.asyncDispose] stops the backend',
  instances: 1,
  needs: {},
  async run({ instances }) {
    const b = instances[0]!
    assert.equal(typeof b[Symbol.asyncDispose], 'function', 'no [Symbol.asyncDispose]')
    await b[Symbol.asyncDispose]()
    assert.equal(b.started, false, 'still started after asyncDispose')
  },
}

const announceDiscover: Scenario = {
  name: 'one instance publishes, another discovers, looks it up and lists it',
  instances: 2,
  needs: { publish: true },
  async run({ instances, selves, publish, timeout }) {
    const [, watcher] = instances
    const rec = recorder(watcher!)
    await publish(0)
    const id = selves[0]!.id
    await eventually(
      () => rec.count('peer:discovered', id) > 0,
      timeout,
      'no peer:discovered for the published node',
    )
    const event = rec.events.find((e) => e.type === 'peer:discovered' && e.id === id)!
    assert.equal(event.source, watcher!.source, 'event source is not the backend source')
    const detail = event.detail as { record: { source: string; addresses: unknown[] } }
    assert.equal(detail.record.source, watcher!.source, 'record.source is not the backend source')
    assert.ok(Array.isArray(detail.record.addresses), 'record.addresses is not an array')
    const found = await watcher!.lookup(id)
    assert.equal(found?.id, id, 'lookup(id) did not find the discovered peer')
    if (found?.name !== undefined) {
      const byName = await watcher!.lookup(found.name)
      assert.equal(byName?.id, id, 'lookup(name) did not find the discovered peer')
    }
    if (watcher!.capabilities.has('list')) {
      assert.equal(typeof watcher!.list, 'function', "declares 'list' but has no list()")
      const all = await watcher!.list!()
      assert.ok(
        all.some((r) => r.id === id),
        'list() does not contain the discovered peer',
      )
    }
    rec.stop()
  },
}

const lost: Scenario = {
  name: 'withdrawing (or removing) a node produces peer:lost',
  instances: 2,
  needs: { publish: true, unpublish: true },
  async run({ instances, selves, publish, unpublish, timeout }) {
    const rec = recorder(instances[1]!)
    const id = selves[0]!.id
    await publish(0)
    await eventually(() => rec.count('peer:discovered', id) > 0, timeout, 'no peer:discovered')
    await unpublish(0)
    await eventually(() => rec.count('peer:lost', id) > 0, timeout, 'no peer:lost after withdraw')
    assertMiss(await instances[1]!.lookup(id), 'lookup still finds a lost peer')
    rec.stop()
  },
}

const expiry: Scenario = {
  name: 'a record that expires in the medium produces peer:lost (capability expiry)',
  instances: 1,
  needs: { capabilities: ['expiry'], expiringInput: true },
  async run({ instances, harness, timeout }) {
    const b = instances[0]!
    const rec = recorder(b)
    // a node none of the instances is
    const other = selvesFor('expiring record', 1)[0]!
    const id = other.id
    await harness.seedExpiring!(other)
    await eventually(
      () => rec.count('peer:discovered', id) > 0,
      timeout,
      'no peer:discovered for the expiring record',
    )
    await eventually(
      () => rec.count('peer:lost', id) > 0,
      2 * timeout,
      'no peer:lost after the record expired',
    )
    assertMiss(await b.lookup(id), 'lookup still finds an expired peer')
    assert.equal(b.started, true, 'the backend stopped after an expiry')
    rec.stop()
  },
}

const noDuplicates: Scenario = {
  name: 'repeated announcements produce one peer:discovered',
  instances: 2,
  needs: { publish: true },
  async run({ instances, selves, publish, timeout, quiet }) {
    const rec = recorder(instances[1]!)
    const id = selves[0]!.id
    await publish(0)
    await publish(0)
    await eventually(() => rec.count('peer:discovered', id) > 0, timeout, 'no peer:discovered')
    await publish(0)
    await sleep(quiet)
    assert.equal(rec.count('peer:discovered', id), 1, 'more than one peer:discovered for one unchanged peer')
    rec.stop()
  },
}

const neverSelf: Scenario = {
  name: 'a node never reports itself',
  instances: 2,
  needs: { publish: true },
  async run({ instances, selves, publish, timeout, quiet }) {
    const rec = recorder(instances[0]!)
    await publish(0)
    await publish(1)
    await eventually(
      () => rec.count('peer:discovered', selves[1]!.id) > 0,
      timeout,
      'instance 0 did not discover instance 1',
    )
    await sleep(quiet)
    assert.equal(rec.events.filter((e) => e.id === selves[0]!.id).length, 0, 'instance 0 reported itself')
    assertMiss(await instances[0]!.lookup(selves[0]!.id), 'lookup(self id) returned the node itself')
    if (instances[0]!.list) {
      const all = await instances[0]!.list()
      assert.ok(!all.some((r) => r.id === selves[0]!.id), 'list() contains the node itself')
    }
    rec.stop()
  },
}

const noEventsOutsideLifecycle: Scenario = {
  name: 'no events before start or after stop',
  instances: 2,
  needs: { publish: true, unpublish: true },
  autoStart: false,
  async run({ instances, selves, publish, unpublish, timeout, quiet }) {
    const [publisher, watcher] = instances
    const rec = recorder(watcher!)
    await publisher!.start()
    await publish(0)
    await sleep(quiet)
    assert.equal(rec.events.length, 0, 'events emitted before start()')
    await watcher!.start()
    await eventually(
      () => rec.count('peer:discovered', selves[0]!.id) > 0,
      timeout,
      'no peer:discovered after start',
    )
    await watcher!.stop()
    const before = rec.events.length
    await unpublish(0)
    await sleep(quiet)
    assert.equal(rec.events.length, before, 'events emitted after stop()')
    rec.stop()
  },
}

const preAborted: Scenario = {
  name: 'a pre-aborted signal rejects every async method with AbortError',
  instances: 1,
  needs: {},
  autoStart: false,
  async run({ instances, selves }) {
    const b = instances[0]!
    const signal = AbortSignal.abort()
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['start', () => b.start({ signal })],
      ['stop', () => b.stop({ signal })],
      ['lookup', () => b.lookup(selves[0]!.id, { signal })],
    ]
    if (b.list) calls.push(['list', () => b.list!({ signal })])
    if (b.capabilities.has('announce')) {
      calls.push(['announce', () => b.announce!(selves[0]!, { signal })])
      calls.push(['withdraw', () => b.withdraw!({ signal })])
    }
    for (const [name, call] of calls) {
      const error = await rejection(call, `${name}({ signal: aborted })`)
      assert.ok(isAbortError(error), `${name} rejected with ${String(error)} instead of an AbortError`)
    }
    assert.equal(b.started, false, 'an aborted start() left the backend started')
    await b.start()
    assert.equal(b.started, true)
  },
}

const midFlightAbort: Scenario = {
  name: 'an abort during start rejects with AbortError and leaves the backend stopped',
  instances: 1,
  needs: {},
  autoStart: false,
  async run({ instances }) {
    const b = instances[0]!
    const controller = new AbortController()
    const starting = b.start({ signal: controller.signal })
    controller.abort()
    const error = await rejection(() => starting, 'start() aborted mid-flight')
    assert.ok(isAbortError(error), `start rejected with ${String(error)} instead of an AbortError`)
    await sleep(50)
    assert.equal(b.started, false, 'an aborted start() left the backend started')
    await b.start()
    assert.equal(b.started, true, 'could not start after an aborted start')
    const lookupController = new AbortController()
    const looking = b.lookup('nobody@nowhere', { signal: lookupController.signal })
    lookupController.abort()
    try {
      assert.equal(await looking, undefined)
    } catch (err) {
      assert.ok(isAbortError(err), `lookup rejected with ${String(err)} instead of an AbortError`)
    }
  },
}

const invalidAnnounce: Scenario = {
  name: 'announcing an invalid record is rejected',
  instances: 1,
  needs: { capabilities: ['announce'] },
  async run({ instances, selves }) {
    const b = instances[0]!
    const bad = [
      { ...selves[0]!, id: 'not-a-node-id' },
      { ...selves[0]!, addresses: [{ host: '127.0.0.1', port: 0 }] },
      { ...selves[0]!, name: 'no at sign' },
    ]
    for (const self of bad) {
      const error = await rejection(() => b.announce!(self), `announce(${quote(self).slice(0, 80)})`)
      assert.ok(error instanceof Error, 'announce rejected with a non-Error')
    }
  },
}

const invalidInput: Scenario = {
  name: 'malformed input in the medium is dropped and counted',
  instances: 1,
  needs: { invalidInput: true },
  async run({ instances, harness, timeout, quiet }) {
    const b = instances[0]!
    const rec = recorder(b)
    const before = b.stats.invalidRecords
    await harness.seedInvalid!()
    await eventually(() => b.stats.invalidRecords > before, timeout, 'stats.invalidRecords did not grow')
    await sleep(quiet)
    assert.equal(rec.count('peer:discovered'), 0, 'an invalid record was reported as a peer')
    assert.equal(b.started, true, 'the backend stopped after invalid input')
    rec.stop()
  },
}

const throwingListener: Scenario = {
  name: 'a listener that throws does not break the backend',
  instances: 2,
  needs: { publish: true },
  async run({ instances, selves, publish, timeout }) {
    const watcher = instances[1]!
    const thrower = () => {
      throw new Error('listener failure (expected by the compliance kit)')
    }
    watcher.addEventListener('peer:discovered', thrower)
    const rec = recorder(watcher)
    await publish(0)
    await eventually(
      () => rec.count('peer:discovered', selves[0]!.id) > 0,
      timeout,
      'a later listener missed the event',
    )
    assert.ok(watcher.stats.listenerErrors >= 1, 'stats.listenerErrors did not count the throwing listener')
    watcher.removeEventListener('peer:discovered', thrower)
    const found = await watcher.lookup(selves[0]!.id)
    assert.equal(found?.id, selves[0]!.id, 'the backend stopped working after a listener threw')
    rec.stop()
  },
}

const unknownLookup: Scenario = {
  name: 'looking up an unknown peer resolves undefined',
  instances: 1,
  needs: {},
  async run({ instances }) {
    const b = instances[0]!
    const unknown = 'a'.repeat(51) + 'a'
    assertMiss(await b.lookup(unknown), 'lookup of an unknown id found something')
    assertMiss(await b.lookup('nobody@nowhere'), 'lookup of an unknown name found something')
  },
}

/** Every scenario, in the order the adapters run them. The leak check is separate: see `checkNoLeaks`. */
export const scenarios: readonly Scenario[] = [
  lifecycle,
  dispose,
  noEventsOutsideLifecycle,
  announceDiscover,
  lost,
  expiry,
  noDuplicates,
  neverSelf,
  preAborted,
  midFlightAbort,
  invalidAnnounce,
  invalidInput,
  throwingListener,
  unknownLookup,
  churn,
]
