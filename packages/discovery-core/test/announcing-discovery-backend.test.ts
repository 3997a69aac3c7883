import { testId } from '@peer/testkit/ids'
import { waitFor } from '@peer/testkit/wait'
import { describe, expect, it } from 'vitest'
import {
  AbstractAnnouncingBackend,
  type AnnounceContext,
  InvalidPeerRecordError,
  type LocalPeer,
} from '../src/index.js'

const self = (label: string, port = 4000): LocalPeer => ({
  id: testId(label),
  name: `${label}@host`,
  addresses: [{ host: '127.0.0.1', port }],
})

// Records every call the base makes; `hang` makes doAnnounce ignore its signal and never finish.
class Announcer extends AbstractAnnouncingBackend {
  readonly calls: string[] = []
  hang = false
  startGate: Promise<void> | undefined
  constructor() {
    super('announcer', ['list'])
  }
  protected async onStart(): Promise<void> {
    const remembered = this.announcement // read before the (slow) rest of the start
    this.calls.push('start-begin')
    await this.startGate
    if (remembered) this.calls.push(`start-publish ${remembered.name}`)
  }
  protected async onStop(): Promise<void> {
    this.calls.push('stop')
  }
  protected override checkAnnouncement(peer: LocalPeer): void {
    if (peer.meta?.tooBig !== undefined) throw new RangeError('too big for the medium')
  }
  protected async doAnnounce(peer: LocalPeer, _context: AnnounceContext): Promise<void> {
    this.calls.push(`announce ${peer.name}`)
    if (this.hang) await new Promise(() => {})
  }
  protected async doWithdraw(): Promise<void> {
    this.calls.push('withdraw')
  }
  get remembered() {
    return this.announcement
  }
  found(input: unknown) {
    return this.reportPeer(input)
  }
}

describe('AbstractAnnouncingBackend', () => {
  it('declares announce and rejects an invalid record before anything changes', async () => {
    const b = new Announcer()
    expect([...b.capabilities].sort()).toEqual(['announce', 'list'])
    await b.start()
    await expect(b.announce({ ...self('a'), id: 'not-an-id' })).rejects.toThrow(InvalidPeerRecordError)
    await expect(b.announce({ ...self('a'), meta: { tooBig: 'x' } })).rejects.toThrow('too big')
    expect(b.calls).toEqual(['start-begin'])
    expect(b.remembered).toBeUndefined()
    await b.stop()
  })

  it('refuses the unspecified address (peers would drop the record) unless the backend publishes interface addresses', async () => {
    const b = new Announcer()
    await b.start()
    const wildcard = {
      ...self('a'),
      addresses: [
        { host: '127.0.0.1', port: 1 },
        { host: '::', port: 4000 },
      ],
    }
    await expect(b.announce(wildcard)).rejects.toThrow(
      expect.objectContaining({ name: 'InvalidPeerRecordError', path: 'addresses[1].host' }),
    )
    await expect(b.announce(wildcard)).rejects.toThrow(
      /:: is the unspecified address.*publishes addresses as given/,
    )
    expect(b.calls).toEqual(['start-begin'])
    await b.stop()

    class InterfaceAnnouncer extends Announcer {
      protected override get announcesInterfaceAddresses(): boolean {
        return true
      }
    }
    const mdnsLike = new InterfaceAnnouncer()
    await mdnsLike.start()
    await mdnsLike.announce(wildcard)
    expect(mdnsLike.remembered?.addresses[1]).toEqual({ host: '::', port: 4000 })
    await mdnsLike.stop()
  })

  it('rejects with AbortError when aborted before or during the call, even if doAnnounce ignores it', async () => {
    const b = new Announcer()
    await b.start()
    await expect(b.announce(self('a'), { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
    expect(b.calls).toEqual(['start-begin'])
    b.hang = true
    const controller = new AbortController()
    const announcing = b.announce(self('a'), { signal: controller.signal })
    controller.abort()
    await expect(announcing).rejects.toMatchObject({ name: 'AbortError' })
    await expect(b.withdraw({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    await b.stop()
  })

  it('remembers an announcement made before start; onStart publishes it, stop keeps it', async () => {
    const b = new Announcer()
    await b.announce(self('a'))
    expect(b.calls).toEqual([])
    await b.start()
    await b.stop()
    await b.start()
    expect(b.calls).toEqual([
      'start-begin',
      'start-publish a@host',
      'stop',
      'start-begin',
      'start-publish a@host',
    ])
    await b.withdraw()
    await b.withdraw()
    expect(b.calls.at(-1)).toBe('withdraw')
    expect(b.calls.filter((c) => c === 'withdraw')).toHaveLength(1)
    await b.stop()
    await b.start()
    expect(b.calls.slice(-2)).toEqual(['stop', 'start-begin'])
    await b.stop()
  })

  it('an announce during start waits for the start, then publishes', async () => {
    const b = new Announcer()
    let open!: () => void
    b.startGate = new Promise((resolve) => {
      open = resolve
    })
    const starting = b.start()
    await waitFor(() => b.calls.includes('start-begin'))
    const announcing = b.announce(self('a'))
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(b.calls).toEqual(['start-begin'])
    open()
    await Promise.all([starting, announcing])
    expect(b.calls).toEqual(['start-begin', 'announce a@host'])
    await b.stop()
  })

  it('never reports the announced node as a peer', async () => {
    const b = new Announcer()
    await b.start()
    await b.announce(self('me'))
    expect(b.found({ id: testId('me'), addresses: [{ host: '127.0.0.1', port: 1 }] })).toBeUndefined()
    await b.stop()
  })
})
