// awaitLink: a caller waiting for the link of a connection made on first use. When two nodes dial
// each other at once, the registry closes one connection as a `duplicate`; the caller whose
// connection lost must wait for the winner, even when the winner has not reached this node's
// registry yet (the case that failed 1 of 500 first requests in `pnpm bench cluster`).
import type { Connection } from '@peer/transport-quic'
import { describe, expect, it } from 'vitest'
import { PeerUnavailableError } from '../src/errors.js'
import { awaitLink, type LinkWaitHost } from '../src/members.js'
import type { PeerLink } from '../src/peer-link.js'

const ID = 'peer-b'

function fixture() {
  const links = new Map<string, PeerLink>()
  const ready = new EventTarget()
  const lifetime = new AbortController()
  const host: LinkWaitHost = {
    link: (id) => links.get(id),
    pending: () => false, // nothing else known for the peer yet
    ready,
    lifetime: lifetime.signal,
  }
  let close!: (info: { by: 'local' | 'remote'; reason: string }) => void
  const closed = new Promise((resolve) => {
    close = resolve
  })
  const connection = { closed } as unknown as Connection
  const up = () => {
    const link = { id: ID, closed: false } as unknown as PeerLink
    links.set(ID, link)
    ready.dispatchEvent(new CustomEvent('ready', { detail: { id: ID } }))
    return link
  }
  return { host, connection, close, up }
}

describe('awaitLink', () => {
  it('waits for the winning connection when its own closed as a duplicate', async () => {
    const f = fixture()
    const waiting = awaitLink(f.host, 'b', ID, f.connection, 30_000, undefined)
    f.close({ by: 'remote', reason: 'duplicate' })
    // the close is handled (a few microtasks) before the winner comes up
    await new Promise((resolve) => setImmediate(resolve))
    const link = f.up()
    await expect(waiting).resolves.toBe(link)
  })

  it('fails at once when its connection closed for another reason and nothing replaces it', async () => {
    const f = fixture()
    const waiting = awaitLink(f.host, 'b', ID, f.connection, 30_000, undefined)
    f.close({ by: 'remote', reason: 'shutting down' })
    await expect(waiting).rejects.toThrow(PeerUnavailableError)
    await expect(waiting).rejects.toThrow(/closed before the peer was up/)
  })

  it('a duplicate whose winner never comes up ends at the deadline', async () => {
    const f = fixture()
    // what is left of a caller's timeout is a fraction of a ms; the message says whole ms
    const waiting = awaitLink(f.host, 'b', ID, f.connection, 199.53, undefined)
    f.close({ by: 'local', reason: 'duplicate' })
    await expect(waiting).rejects.toThrow(/not up within 200 ms$/)
  })
})
