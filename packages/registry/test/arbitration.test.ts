// The pure rule deciding which connection a peer keeps when a new one arrives (simultaneous dials).
import { describe, expect, it } from 'vitest'
import { type ArbitrationInput, type ArbitrationVerdict, arbitrate } from '../src/arbitration.js'

const LOW = 'a'.repeat(52)
const HIGH = 'b'.repeat(52)
const NOW = 100_000
const WINDOW = 2000

type Row = [string, Omit<ArbitrationInput, 'now' | 'windowMs'>, ArbitrationVerdict]

const table: Row[] = [
  [
    'no live connection: an outbound one is adopted',
    { self: LOW, remote: HIGH, direction: 'outbound', dialInFlight: true },
    'adopt',
  ],
  [
    'no live connection, no dial: an inbound one is adopted',
    { self: LOW, remote: HIGH, direction: 'inbound', dialInFlight: false },
    'adopt',
  ],
  [
    'inbound while our dial is in flight, we are lower: our dial wins',
    { self: LOW, remote: HIGH, direction: 'inbound', dialInFlight: true },
    'dial-wins',
  ],
  [
    'inbound while our fresh dial is in flight, we are lower: our dial wins',
    {
      self: LOW,
      remote: HIGH,
      direction: 'inbound',
      dialInFlight: true,
      dialAgeMs: 249,
      staleDialMs: 250,
      dialCommitted: false,
    },
    'dial-wins',
  ],
  [
    'inbound while our dial is in flight with a stale attempt, we are lower: the inbound is adopted',
    {
      self: LOW,
      remote: HIGH,
      direction: 'inbound',
      dialInFlight: true,
      dialAgeMs: 250,
      staleDialMs: 250,
      dialCommitted: false,
    },
    'adopt',
  ],
  [
    'inbound while our stale attempt has committed, we are lower: our dial wins (the peer may hold it)',
    {
      self: LOW,
      remote: HIGH,
      direction: 'inbound',
      dialInFlight: true,
      dialAgeMs: 5000,
      staleDialMs: 250,
      dialCommitted: true,
    },
    'dial-wins',
  ],
  [
    'inbound while our stale attempt is in flight over a transport that does not report commits: our dial wins',
    { self: LOW, remote: HIGH, direction: 'inbound', dialInFlight: true, dialAgeMs: 5000, staleDialMs: 250 },
    'dial-wins',
  ],
  [
    'inbound while our dial is in flight, we are higher: the inbound is adopted',
    { self: HIGH, remote: LOW, direction: 'inbound', dialInFlight: true },
    'adopt',
  ],
  [
    'crossing outbound, live inbound, we are lower: ours replaces',
    {
      self: LOW,
      remote: HIGH,
      direction: 'outbound',
      dialInFlight: false,
      existing: { direction: 'inbound', connectedAt: NOW },
    },
    'replace',
  ],
  [
    'crossing outbound, live inbound, we are higher: the live one stays',
    {
      self: HIGH,
      remote: LOW,
      direction: 'outbound',
      dialInFlight: false,
      existing: { direction: 'inbound', connectedAt: NOW },
    },
    'duplicate',
  ],
  [
    'inbound within the window, live outbound, we are lower: ours stays',
    {
      self: LOW,
      remote: HIGH,
      direction: 'inbound',
      dialInFlight: false,
      existing: { direction: 'outbound', connectedAt: NOW - WINDOW + 1 },
    },
    'duplicate',
  ],
  [
    'inbound within the window, live outbound, we are higher: the inbound replaces',
    {
      self: HIGH,
      remote: LOW,
      direction: 'inbound',
      dialInFlight: false,
      existing: { direction: 'outbound', connectedAt: NOW - 10 },
    },
    'replace',
  ],
  [
    'inbound after the window: the remote redialed, it replaces',
    {
      self: LOW,
      remote: HIGH,
      direction: 'inbound',
      dialInFlight: false,
      existing: { direction: 'outbound', connectedAt: NOW - WINDOW },
    },
    'replace',
  ],
  [
    'inbound over a live inbound: the remote redialed, it replaces',
    {
      self: LOW,
      remote: HIGH,
      direction: 'inbound',
      dialInFlight: false,
      existing: { direction: 'inbound', connectedAt: NOW },
    },
    'replace',
  ],
  [
    'outbound over a live outbound: the live one stays',
    {
      self: LOW,
      remote: HIGH,
      direction: 'outbound',
      dialInFlight: false,
      existing: { direction: 'outbound', connectedAt: NOW },
    },
    'duplicate',
  ],
  [
    'a live one of unknown direction counts as outbound',
    {
      self: LOW,
      remote: HIGH,
      direction: 'outbound',
      dialInFlight: false,
      existing: { direction: undefined, connectedAt: NOW },
    },
    'duplicate',
  ],
]

describe('arbitrate', () => {
  it.each(table)('%s', (_name, input, verdict) => {
    expect(arbitrate({ ...input, now: NOW, windowMs: WINDOW })).toBe(verdict)
  })

  it('gives the same winner on both sides of a simultaneous dial', () => {
    // each side holds its own outbound and receives the other's inbound within the window
    for (const [self, remote] of [
      [LOW, HIGH],
      [HIGH, LOW],
    ] as const) {
      const atSelf = arbitrate({
        self,
        remote,
        direction: 'inbound',
        dialInFlight: false,
        existing: { direction: 'outbound', connectedAt: NOW },
        now: NOW,
        windowMs: WINDOW,
      })
      const atRemote = arbitrate({
        self: remote,
        remote: self,
        direction: 'inbound',
        dialInFlight: false,
        existing: { direction: 'outbound', connectedAt: NOW },
        now: NOW,
        windowMs: WINDOW,
      })
      // the kept connection is the one dialed by the lower id: exactly one side replaces
      expect([atSelf, atRemote].sort()).toEqual(['duplicate', 'replace'])
      expect(self < remote ? atSelf : atRemote).toBe('duplicate')
    }
  })
})
