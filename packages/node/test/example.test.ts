import { runExample } from '@peer/testkit/examples'
import { expect, it } from 'vitest'

it('the README example runs as a script and exits by itself (no handle left open)', async () => {
  const { stdout } = await runExample('packages/node/examples/cluster.mjs', { timeoutMs: 30_000 })
  expect(stdout.trim()).toBe('hello world, from node2 to node1@localhost')
}, 40_000)

it('examples/metrics.mjs reads the node metrics through an OpenTelemetry SDK reader', async () => {
  const { stdout } = await runExample('packages/node/examples/metrics.mjs', { timeoutMs: 110_000 })
  expect(stdout.trim().split('\n')).toEqual([
    'peers up: 1',
    'requests timed: 1',
    'discovered via static: 1',
    'messages sent > 0: true',
  ])
}, 120_000)

it('examples/on-demand.mjs dials on first use and closes the idle connection', async () => {
  const { stdout } = await runExample('packages/node/examples/on-demand.mjs')
  expect(stdout).toContain('node1 members: 1, connections: 0')
  expect(stdout).toContain('hello node1')
  expect(stdout).toContain('node1 connections: 1')
  expect(stdout).toContain('peer:down node2@localhost (idle); still a member: 1')
  expect(stdout).toContain('hello again')
})

it('examples/handler-errors.mjs shows a failed handler, why a peer is not up, and a refused payload', async () => {
  const { stdout } = await runExample('packages/node/examples/handler-errors.mjs')
  expect(stdout.trim().split('\n')).toEqual([
    'node2: the handler of orders failed on a message from node1@localhost: qty must be at least 1',
    "node1: peer node3 is unavailable: not connected: a discovered peer has this name (node3@localhost, id <id>) but is not in this node's trust list",
    'node1: payload cannot be encoded as MessagePack: payload is a Map: it would arrive as an object with string keys: send Object.fromEntries(map) or [...map]',
  ])
})
