// Why a peer is not up, in words, for the errors of calls that need it (waitForPeer, send, request,
// ping, openStream): trust, discovery and dialing each fail differently, and a user who only sees
// "not connected" cannot tell a missing trust entry from a peer that nobody reported.

import { type BackendErrorInfo, formatHostPort, isNodeId, type MergedPeerRecord } from '@peer/discovery-core'
import { errorMessage, nameMatch } from '@peer/discovery-core/internal'
import type { PeerStatus } from '@peer/registry'
import { notUp, type PeerStanding, type PeerUnavailableError } from './errors.js'
import { memberIdFor, NO_MEMBER } from './members.js'

/** What {@link whyNotUp} reads. @internal */
export interface AbsenceView {
  /** This node's id (before the start: `''`). */
  self(): string
  /** Whether the trust list (or `trust: 'all'`) admits `id`. */
  trusted(id: string): boolean
  /** The registry's view of a trusted peer, when the node is started. */
  status(id: string): PeerStatus | undefined
  /** Every peer the registry tracks. */
  peers(): readonly PeerStatus[]
  /** What discovery reports now, trusted or not; `undefined` when the node has no backend. */
  discovered(): readonly MergedPeerRecord[] | undefined
  /** Each discovery backend's last error since the start (see `Discovery.lastErrors`). */
  backendErrors(): readonly BackendErrorInfo[]
  /** True with `connect: 'on-demand'` (members are dialed on first use). */
  readonly onDemand: boolean
}

/** Most addresses a reason lists. */
const MAX_ADDRESSES = 3

/** Where a peer stands and why, in words (see {@link whyNotUp}). @internal */
export interface Absence {
  readonly standing: PeerStanding
  readonly why: string
}

/**
 * Why `ref` (a node id or name) is not up, as the end of an error message: not in the trust list
 * (and whether discovery reports it), not discovered (and whether the node has a backend), or
 * discovered and where its dialing stands. Cheap enough for error paths only. @internal
 */
export function whyNotUp(ref: string, view: AbsenceView): string {
  return absence(ref, view).why
}

/** {@link whyNotUp} with the {@link PeerStanding}. @internal */
export function absence(ref: string, view: AbsenceView): Absence {
  if (isNodeId(ref)) return idAbsence(ref, view)
  const member = memberIdFor(ref, view)
  if ('id' in member) return idAbsence(member.id, view)
  if (member.why !== NO_MEMBER) return { standing: 'ambiguous', why: member.why }
  const strangers = (view.discovered() ?? []).filter(
    (r) => nameMatch(r.name, ref) !== undefined && !view.trusted(r.id),
  )
  if (strangers.length > 0) {
    const r = strangers[0]!
    const more = strangers.length > 1 ? ` (and ${strangers.length - 1} more)` : ''
    return {
      standing: 'untrusted',
      why: `a discovered peer has this name (${r.name}, id ${r.id}) but is not in this node's trust list${more}`,
    }
  }
  return {
    standing: 'undiscovered',
    why: `no discovered peer has this name${noBackend(view)}${backendTrouble(view)}`,
  }
}

/**
 * The error of a call that needs `ref` up when it is not: `detail` (what the call saw: "not
 * connected", "not up within 500 ms"), why (see {@link whyNotUp}), the last dial's error, and the
 * standing; `cause` is the error that ended the call's wait (a dial's), if any. @internal
 */
export function absenceError(
  ref: string,
  detail: string,
  view: AbsenceView,
  cause?: unknown,
): PeerUnavailableError {
  const member = memberIdFor(ref, view)
  const status = 'id' in member ? view.status(member.id) : undefined
  const { standing, why } = absence(ref, view)
  return notUp(ref, `${detail}: ${why}`, status?.lastDialError, standing, cause)
}

function idAbsence(id: string, view: AbsenceView): Absence {
  if (id === view.self()) return { standing: 'self', why: "that is this node's own id" }
  const record = view.discovered()?.find((r) => r.id === id)
  if (!view.trusted(id)) {
    const seen = record === undefined ? '' : ` (${seenBy(record)})`
    return {
      standing: 'untrusted',
      why: `not in this node's trust list, so it is neither dialed nor accepted${seen}`,
    }
  }
  const status = view.status(id)
  if (status === undefined || !status.discovered) {
    const why =
      view.discovered() === undefined
        ? 'this node has no discovery backend, and the peer has not connected to it'
        : `no discovery backend reports it, and it has not connected${backendTrouble(view)}`
    return { standing: 'undiscovered', why }
  }
  const at = addressList(status.addresses.map((a) => formatHostPort(a.host, a.port)))
  return {
    standing: 'discovered',
    why: `discovered${at === '' ? '' : ` at ${at}`}; ${dialing(status, view.onDemand)}`,
  }
}

function dialing(status: PeerStatus, onDemand: boolean): string {
  const failed = status.dialAttempts === 0 ? '' : ` after ${plural(status.dialAttempts, 'failed dial')}`
  switch (status.state) {
    case 'idle':
      if (status.addresses.length === 0) return 'it has no address to dial'
      return onDemand ? 'dialed on first use' : `not dialed now${failed}`
    case 'queued':
      return `waiting for a dial slot${failed}`
    case 'dialing':
      return `a dial is in flight${failed}`
    case 'backoff': {
      const inMs = (status.nextDialAt ?? 0) - Date.now()
      return inMs > 0 ? `the next dial in ${inMs} ms${failed}` : `a redial is due${failed}`
    }
    case 'departed':
      return 'it said it was stopping; redialed when discovery reports it again, or by a call to it'
    case 'connected':
      return 'connected, its hello not done yet'
  }
}

function seenBy(record: MergedPeerRecord): string {
  const at = addressList(record.addresses.map((a) => formatHostPort(a.host, a.port)))
  return `discovery reports it: ${record.sources.join(', ')}${at === '' ? '' : ` at ${at}`}`
}

function addressList(addresses: readonly string[]): string {
  const shown = addresses.slice(0, MAX_ADDRESSES).join(', ')
  return addresses.length > MAX_ADDRESSES ? `${shown} and ${addresses.length - MAX_ADDRESSES} more` : shown
}

/** Most backend errors a reason lists. */
const MAX_BACKEND_ERRORS = 2

/**
 * The last errors of backends that have not worked since, newest first, as a clause: maybe why
 * nobody was discovered (a backend that recovered is not a reason any more).
 */
function backendTrouble(view: AbsenceView): string {
  const current = view.backendErrors().filter((e) => e.recoveredAt === undefined)
  const errors = current.slice(-MAX_BACKEND_ERRORS).reverse()
  if (errors.length === 0) return ''
  const now = Date.now()
  const each = errors.map((e) => `${e.source} failed ${ago(now - e.at)}: ${errorMessage(e.error)}`)
  return ` (discovery errors: ${each.join('; ')})`
}

function ago(ms: number): string {
  return ms < 1000 ? `${Math.max(0, ms)} ms ago` : `${Math.round(ms / 1000)} s ago`
}

function noBackend(view: AbsenceView): string {
  return view.discovered() === undefined ? ' (this node has no discovery backend)' : ''
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`
}
