// The "raw matrixai" stack: @matrixai/quic through the transport's engine module only (same tuning,
// same mutual-TLS pinning callbacks), plain streams, no preamble, no channel layer. The one file
// of the bench that imports the transport's internals.
import { silentLogger } from '@peer/discovery-core'
import type { Identity } from '@peer/identity'
import { type TransportTuning, tuningFor } from '@peer/transport-quic'
import type {
  EngineConnection,
  EngineContext,
  EngineStream,
} from '../../../packages/transport-quic/src/engine.js'
import { matrixaiEngine } from '../../../packages/transport-quic/src/engine-matrixai.js'
import { applyEnginePatch, ENGINE_PATCH_ENV } from '../../../packages/transport-quic/src/engine-patch.js'
import type { RawConn, RawStream } from './raw-stream.js'

/** Which @matrixai engine the run measured: with the transport's run-time hot-path patch, or as published. */
export function enginePatchNote(): string {
  const state = applyEnginePatch()
  return state.applied
    ? `@matrixai/quic with the transport's run-time hot-path patch (set ${ENGINE_PATCH_ENV}=off to measure it unpatched)`
    : `@matrixai/quic unpatched (${state.reason})`
}

function engineContext(identity: Identity, host: string, tuning: TransportTuning): EngineContext {
  return {
    identity,
    tuning: tuningFor(host, tuning),
    logger: silentLogger('bench'),
    engineLogLevel: 'silent',
  }
}

function matrixaiStream(s: EngineStream): RawStream {
  const reader = s.readable.getReader()
  const writer = s.writable.getWriter()
  reader.closed.catch(() => {})
  writer.closed.catch(() => {})
  return {
    write: (b) => writer.write(b),
    read: async () => {
      const r = await reader.read()
      return r.done ? undefined : r.value
    },
    finish: () => writer.close(),
  }
}

const matrixaiConn = (conn: EngineConnection): RawConn => ({
  open: async () => matrixaiStream(await conn.openStream()),
  close: () => conn.close(0, 'done'),
})

export async function startMatrixaiServer(
  identity: Identity,
  clientId: string,
  host: string,
  tuning: TransportTuning,
  serve: (s: RawStream) => Promise<void>,
): Promise<{ port: number; close(): Promise<void> }> {
  const raw = await matrixaiEngine.listen(
    engineContext(identity, host, tuning),
    { host, port: 0 },
    async (id) => id === clientId,
  )
  const live = new Set<EngineConnection>()
  raw.onConnection = (conn) => {
    live.add(conn)
    void conn.closed.then(() => live.delete(conn))
    conn.onStream = (s) => void serve(matrixaiStream(s))
  }
  return {
    port: raw.address.port,
    async close() {
      await Promise.all([...live].map((c) => c.close(0, 'bench done')))
      await raw.stop('bench done')
    },
  }
}

export function matrixaiDialer(identity: Identity, tuning: TransportTuning) {
  return {
    async dial(address: { host: string; port: number }, expectedId: string): Promise<RawConn> {
      return matrixaiConn(
        await matrixaiEngine.dial(
          engineContext(identity, address.host, tuning),
          address,
          expectedId,
          undefined,
        ),
      )
    },
    close: () => matrixaiEngine.close(),
  }
}
