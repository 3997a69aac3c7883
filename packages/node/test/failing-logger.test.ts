// A logger that throws (a pino destination closed under it, a bug in a custom logger) must cost
// its lines, never the node: many log calls run in socket, stream and timer callbacks, where a
// throw is an uncaught exception or an unhandled rejection that ends the process.
import type { Logger, LoggerFactory } from '@peer/discovery-core'
import { waitFor } from '@peer/testkit/wait'
import { warningsCoded, warningsDuring } from '@peer/testkit/warnings'
import { afterEach, expect, it } from 'vitest'
import { type Member, startCluster } from './helpers.js'

const members: Member[] = []
const escaped: unknown[] = []
const onEscape = (error: unknown) => escaped.push(error)
process.on('uncaughtException', onEscape)
process.on('unhandledRejection', onEscape)
afterEach(async () => {
  await Promise.allSettled(members.splice(0).map((m) => m.node.stop()))
})

/** Every method of every logger throws; `calls` counts the lines the node tried to write. */
function throwingLogger(): { factory: LoggerFactory; calls: () => number } {
  let calls = 0
  const boom = (message: string) => {
    calls++
    throw new Error(`log sink closed (${message})`)
  }
  return {
    factory: (namespace): Logger => ({ namespace, debug: boom, info: boom, warn: boom, error: boom }),
    calls: () => calls,
  }
}

it('a logger whose every method throws: nodes start, talk, fail typed and stop, and nothing escapes', async () => {
  const log = throwingLogger()
  const warnings = await warningsDuring(async () => {
    const [a, b] = await startCluster(['a', 'b'], { logger: log.factory })
    members.push(a!, b!)
    b!.node.handle('echo', (payload) => payload)
    b!.node.handle('fails', () => {
      throw new Error('handler failed')
    })
    expect(await a!.node.request(b!.node.id, 'echo', 'hi')).toBe('hi')
    await expect(a!.node.request(b!.node.id, 'fails', 1)).rejects.toMatchObject({ name: 'RemoteError' })
    await expect(a!.node.request(b!.node.id, 'nobody', 1)).rejects.toMatchObject({ name: 'NoHandlerError' })
    await b!.node.stop()
    await waitFor(() => a!.node.peer(b!.node.id) === undefined, { timeoutMs: 60_000, what: 'b down' })
  })
  expect(log.calls()).toBeGreaterThan(0)
  // the first failure of the process is reported once, naming the namespace
  const reported = warningsCoded(warnings, 'PEER_LOGGER_FAILED')
  expect(reported).toHaveLength(1)
  expect(reported[0]).toMatch(/the (debug|info|warn|error) method of the logger for peer:[a-z:]+ threw/)
  expect(escaped).toEqual([])
}, 120_000)

it('a logger factory that throws, or returns no logger, does not fail createNode', async () => {
  for (const factory of [
    (): Logger => {
      throw new Error('no sink')
    },
    () => undefined as unknown as Logger,
  ]) {
    const [a, b] = await startCluster(['a', 'b'], { logger: factory })
    members.push(a!, b!)
    b!.node.handle('echo', (payload) => payload)
    expect(await a!.node.request(b!.node.id, 'echo', 1)).toBe(1)
    await Promise.all(members.splice(0).map((m) => m.node.stop()))
  }
  expect(escaped).toEqual([])
}, 120_000)
