// memberIdFor: which member a `request` / `send` / `ping` target names. By id it is one lookup: a
// snapshot of every peer on each first use was O(members) of garbage (25 KiB at 65 peers).

import type { PeerStatus } from '@peer/registry'
import { testId } from '@peer/testkit/ids'
import { describe, expect, it } from 'vitest'
import { memberIdFor } from '../src/members.js'

const member = (label: string, name: string | undefined, discovered = true) =>
  ({ id: testId(label), name, discovered }) as unknown as PeerStatus

function source(members: PeerStatus[], { listing = true } = {}) {
  return {
    status: (id: string) => members.find((m) => m.id === id),
    peers: () => {
      if (!listing) throw new Error('listed every peer')
      return members
    },
  }
}

describe('memberIdFor', () => {
  it('finds a member by id with one lookup, never listing every peer', () => {
    const members = [member('a', 'a@x'), member('b', 'b@x', false)]
    const byId = source(members, { listing: false })
    expect(memberIdFor(testId('a'), byId)).toEqual({ id: testId('a') })
    // known but no longer discovered, or unknown: not a member
    expect(memberIdFor(testId('b'), byId)).toEqual({ why: 'not connected' })
    expect(memberIdFor(testId('c'), byId)).toEqual({ why: 'not connected' })
  })

  it('finds one by full name first, then by the short name; ambiguous or unknown names say why', () => {
    const members = [
      member('a', 'api@x'),
      member('b', 'api@y'),
      member('c', 'db@x'),
      member('d', 'gone@x', false),
    ]
    const s = source(members)
    expect(memberIdFor('api@y', s)).toEqual({ id: testId('b') })
    expect(memberIdFor('db', s)).toEqual({ id: testId('c') })
    expect(memberIdFor('api', s)).toEqual({ why: 'the name matches 2 members; use a node id' })
    expect(memberIdFor('gone@x', s)).toEqual({ why: 'no member has this name' })
  })
})
