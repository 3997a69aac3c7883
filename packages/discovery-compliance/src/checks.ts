// Small runner-agnostic helpers used by the scenarios: waiting for events and for conditions.
import { setTimeout as delay } from 'node:timers/promises'
import type { DiscoveryBackend } from '@peer/discovery-core'
import { describeValue, eventRecordId } from '@peer/discovery-core/internal'

export interface Recorded {
  type: string
  id: string
  source: string
  detail: unknown
}

/**
 * Records discovery events of one instance. An event without the documented detail (`{ record:
 * { id, ... }, source }`) is not recorded: the next `count` throws, naming it (a backend written
 * by hand gets that message, not a `TypeError`, or on a plain `EventTarget` an uncaught exception
 * from this listener).
 */
export function recorder(backend: DiscoveryBackend) {
  const events: Recorded[] = []
  const malformed: string[] = []
  const types = ['peer:discovered', 'peer:updated', 'peer:lost'] as const
  const listener = (event: Event) => {
    const detail = (event as CustomEvent<{ source?: unknown } | null>).detail
    const id = eventRecordId(event)
    if (id === undefined || typeof detail?.source !== 'string') {
      malformed.push(`${event.type} with detail ${describeValue(detail)}`)
      return
    }
    events.push({ type: event.type, id, source: detail.source, detail })
  }
  for (const t of types) backend.addEventListener(t, listener)
  return {
    events,
    count: (type: string, id?: string) => {
      if (malformed.length > 0) {
        const more = malformed.length > 1 ? ` (and ${malformed.length - 1} more)` : ''
        throw new Error(
          `the backend emitted an event without the documented detail { record: { id, ... }, source }: ${malformed[0]}${more}`,
        )
      }
      return events.filter((e) => e.type === type && (id === undefined || e.id === id)).length
    },
    stop: () => {
      for (const t of types) backend.removeEventListener(t, listener)
    },
  }
}

/**
 * Asserts that a `lookup` answer is a miss: `undefined`. `null` (a common way to say "none") gets
 * its own message, so that it does not read as "still finds the peer"; a record gets `message`.
 */
export function assertMiss(answer: unknown, message: string): void {
  if (answer === undefined) return
  if (answer === null) {
    throw new Error(
      `lookup resolved null for a miss: resolve undefined (the interface's PeerRecord | undefined)`,
    )
  }
  throw new Error(`${message} (got ${describeValue(answer)})`)
}

/** Polls `check` until it is true, or throws `message` after `timeout` ms. */
export async function eventually(check: () => boolean | Promise<boolean>, timeout: number, message: string) {
  const deadline = Date.now() + timeout
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`${message} (waited ${timeout} ms)`)
    await sleep(20)
  }
}

export function sleep(ms: number): Promise<void> {
  return delay(ms)
}

/** Runs `fn` and returns the error it rejected with, or throws if it resolved. */
export async function rejection(fn: () => Promise<unknown>, what: string): Promise<unknown> {
  try {
    await fn()
  } catch (error) {
    return error
  }
  throw new Error(`${what} resolved, expected a rejection`)
}

export function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError'
}
