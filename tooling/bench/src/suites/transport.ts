// pnpm bench transport: @peer/transport-quic against the raw QUIC engine at the same settings and
// against node:tls 1.3 over TCP with the same framing and pinning, on loopback, one client (this
// process) and one server (a child process, so each side has its own core).
import { fileURLToPath } from 'node:url'
import { generateIdentity } from '@peer/identity'
import { spawnChild } from '@peer/testkit/child-process'
import type { Measurement, Suite } from '../report.js'
import { runTransportBench } from '../transport-bench.js'

const SERVER = fileURLToPath(new URL('../transport-server.ts', import.meta.url))

const suite: Suite = {
  name: 'transport',
  description: 'QUIC transport vs raw engine vs node:tls over TCP: bulk, messages, latency, connect, memory',
  async run({ quick }) {
    const identity = await generateIdentity()
    const child = await spawnChild(SERVER)
    try {
      const measurements: Measurement[] = []
      const notes = await runTransportBench({ child, identity, quick, measurements })
      return { suite: 'transport', measurements, notes }
    } finally {
      await child.close()
    }
  },
}

export default suite
