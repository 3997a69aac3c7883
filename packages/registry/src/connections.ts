// What the registry reads from a connection (its close value, its RTT) and how it closes one and
// waits for it, never trusting a transport to behave: no throw escapes, no wait is unbounded.
import type { Logger } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import type { RegistryConnection } from './interfaces.js'

/**
 * What a connection's close value says: `departed` when the remote is stopping (`shutdown`, not
 * closed by us), `released` when either side closed it as unused (`idle`, `evicted`, or
 * `connection cap`: the peer is still a member, dialed again when used, never redialed by itself),
 * `path-lost` when nothing was heard from it (`by: 'idle-timeout'` or `'error'`, as
 * `@peer/transport-quic` reports, or reason `unresponsive`: a liveness probe of `@peer/node` went
 * unanswered and one side closed it), `other` for the rest.
 */
export type CloseKind = 'departed' | 'released' | 'path-lost' | 'other'

/** Close reasons that release a connection (no redial): see {@link CloseKind}. */
export const RELEASE_REASONS: ReadonlySet<string> = new Set(['idle', 'evicted', 'connection cap'])

/** The close reason of a connection whose peer did not answer a liveness probe: a path loss. */
export const UNRESPONSIVE_REASON = 'unresponsive'

export function closeKind(value: unknown): CloseKind {
  if (value === 'shutdown') return 'departed'
  if (typeof value === 'string' && RELEASE_REASONS.has(value)) return 'released'
  if (value === UNRESPONSIVE_REASON) return 'path-lost'
  if (typeof value !== 'object' || value === null) return 'other'
  const { reason, by } = value as { reason?: unknown; by?: unknown }
  if (reason === 'shutdown' && by !== 'local') return 'departed'
  if (typeof reason === 'string' && RELEASE_REASONS.has(reason)) return 'released'
  if (by === 'idle-timeout' || by === 'error' || reason === UNRESPONSIVE_REASON) return 'path-lost'
  return 'other'
}

export function reasonOf(value: unknown): string {
  if (typeof value === 'string' && value !== '') return value
  if (value instanceof Error) return value.message || value.name
  if (typeof value === 'object' && value !== null) {
    const { reason, by } = value as { reason?: unknown; by?: unknown }
    if (typeof reason === 'string' && reason !== '') return reason
    if (reason instanceof Error) return reason.message
    if (typeof by === 'string' && by !== '') return by
  }
  return 'closed'
}

export function readRtt(conn: RegistryConnection | undefined): number | undefined {
  try {
    const rtt = conn?.rtt
    return typeof rtt === 'number' && Number.isFinite(rtt) ? rtt : undefined
  } catch {
    return undefined
  }
}

export function safeClose(conn: RegistryConnection, reason: string, log: Logger): void {
  try {
    Promise.resolve(conn.close(reason)).catch((error: unknown) =>
      log.debug('close failed', { reason, error: errorMessage(error) }),
    )
  } catch (error) {
    log.debug('close threw', { reason, error: errorMessage(error) })
  }
}
