// Interop with Avahi, both ways, inside namespaces the test creates (Avahi never runs in the root
// namespace): avahi-browse resolves our service; we discover a service avahi-publish-service made.
import { type Avahi, startAvahi } from '@peer/testkit/avahi'
import { testId } from '@peer/testkit/ids'
import { type BridgeTopology, createBridgeTopology } from '@peer/testkit/netns'
import type { BackendHost, RemoteBackend } from '@peer/testkit/remote-backend'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRemote, startHost } from './helpers/harness.js'

/** Undoes avahi-browse -p escaping: `\\DDD` is a byte (decimal), `\\x` is x. */
function avahiUnescape(text: string): string {
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (ch === '\\' && /^\d{3}$/.test(text.slice(i + 1, i + 4))) {
      bytes.push(Number(text.slice(i + 1, i + 4)))
      i += 3
    } else if (ch === '\\' && i + 1 < text.length) {
      bytes.push(...Buffer.from(text[++i]!))
    } else bytes.push(...Buffer.from(ch))
  }
  return Buffer.from(bytes).toString()
}

describe('Avahi interop (avahi-daemon in namespace 1, peer in namespace 2)', () => {
  let topo: BridgeTopology
  let avahi: Avahi
  let host: BackendHost
  let node: RemoteBackend
  beforeAll(async () => {
    topo = await createBridgeTopology({ count: 2, label: 'avahi' })
    ;[avahi, host] = await Promise.all([startAvahi({ ns: topo.nodes[0]!.ns }), startHost(topo.nodes[1]!.ns)])
    node = await createRemote(host, { ttl: 30 })
    await node.start()
  }, 60_000)
  afterAll(async () => {
    await Promise.allSettled([host?.close(), avahi?.close()])
    await topo?.destroy()
  })

  it('avahi-browse resolves our service with the right port, address and TXT', async () => {
    const id = testId('avahi-sees-us')
    await node.announce({
      id,
      name: 'web1@example',
      addresses: [{ host: '0.0.0.0', port: 4711 }],
      meta: { role: 'web', zone: 'a b' },
    })
    let line: string | undefined
    await waitFor(
      async () => {
        const out = await avahi.exec('avahi-browse', ['-rpt', '_peer._udp'], { timeoutMs: 15_000 })
        // avahi-browse -p escapes characters such as @ as \DDD (decimal)
        const decode = (t: string) =>
          t.replace(/\\(\d{3})/g, (_m, d: string) => String.fromCharCode(Number(d)))
        line = out.split('\n').find((l) => decode(l).startsWith('=;eth0;IPv4;web1@example;'))
        return line
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'avahi-browse to resolve web1@example' },
    )
    // =;iface;proto;name;type;domain;host;address;port;txt
    const fields = line!.split(';')
    expect(fields[4]).toBe('_peer._udp')
    expect(fields[6]).toBe(`peer-${id.slice(0, 16)}.local`)
    expect(fields[7]).toBe(topo.nodes[1]!.ipv4)
    expect(fields[8]).toBe('4711')
    const txt = fields.slice(9).join(';')
    expect(txt).toContain(`"id=${id}"`)
    expect(txt).toContain('"name=web1@example"')
    expect(txt).toContain('"pv=1"')
    expect(txt).toContain('"role=web"')
    expect(txt).toContain('"zone=a b"')
    await node.withdraw()
  }, 40_000)

  it('avahi-browse sees the default name port@ip and a name with dots as one instance label each', async () => {
    const ip = topo.nodes[1]!.ipv4
    const second = await createRemote(host, { ttl: 30 })
    await second.start()
    const names = [`4711@${ip}`, 'app@host.example.com']
    await node.announce({
      id: testId('avahi-default-name'),
      name: names[0]!,
      addresses: [{ host: '0.0.0.0', port: 4711 }],
    })
    await second.announce({
      id: testId('avahi-dotted-name'),
      name: names[1]!,
      addresses: [{ host: '0.0.0.0', port: 4712 }],
    })
    let seen: string[] = []
    await waitFor(
      async () => {
        const out = await avahi.exec('avahi-browse', ['-rpt', '_peer._udp'], { timeoutMs: 15_000 })
        seen = out
          .split('\n')
          .filter((l) => l.startsWith('=;eth0;IPv4;'))
          .map((l) => avahiUnescape(l.split(';')[3]!))
        return names.every((n) => seen.includes(n))
      },
      { timeoutMs: 25_000, intervalMs: 300, what: `avahi-browse to resolve ${names.join(' and ')}` },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; avahi-browse saw ${JSON.stringify(seen)}`)
    })
    expect(avahi.log()).not.toMatch(/Failed to split service name/)
    await node.withdraw()
    await second.stop()
  }, 45_000)

  /**
   * Publishes `service` with avahi-publish-service, waits for the node to discover it, hands the
   * record to `check`, then stops the publisher and expects peer:lost (withdrawn).
   */
  async function publishAndLose(
    service: string,
    port: number,
    txt: string[],
    check: (record: Record<string, unknown>) => void | Promise<void>,
  ): Promise<void> {
    const id = /^id=(.*)$/.exec(txt[0]!)![1]!
    const rec = recordEvents(node, ['peer:discovered', 'peer:lost'])
    const publisher = avahi.spawn('avahi-publish-service', [
      '-s',
      service,
      '_peer._udp',
      String(port),
      ...txt,
    ])
    await publisher.waitFor(/Established under name/, 15_000)
    await waitFor(
      () => rec.of('peer:discovered').find((e) => (e.detail as { record: { id: string } }).record.id === id),
      { timeoutMs: 15_000, what: `peer:discovered for the Avahi service ${service}` },
    )
    const { record } = rec.of('peer:discovered')[0]!.detail as { record: Record<string, unknown> }
    await check(record)
    await publisher.stop()
    await waitFor(() => rec.of('peer:lost').length > 0, {
      timeoutMs: 10_000,
      what: 'peer:lost after goodbye',
    })
    expect((rec.of('peer:lost')[0]!.detail as { reason: string }).reason).toBe('withdrawn')
  }

  it('discovers an avahi-publish-service instance whose name has dots, spaces and UTF-8, and loses it', async () => {
    const id = testId('avahi-odd-name')
    await publishAndLose(
      'Büro Drucker v2.1 ☕ (x.y)',
      4102,
      [`id=${id}`, 'name=odd@avahi.example'],
      (record) => {
        expect(record).toMatchObject({ id, name: 'odd@avahi.example' })
        expect(record.addresses).toContainEqual({ host: topo.nodes[0]!.ipv4, port: 4102 })
      },
    )
  }, 40_000)

  it('discovers a service published with avahi-publish-service, and loses it when it is removed', async () => {
    const id = testId('published-by-avahi')
    const txt = [`id=${id}`, 'name=avahi@peer', 'pv=1', 'color=blue']
    await publishAndLose('AvahiPeer', 4100, txt, (record) => {
      expect(record).toMatchObject({ id, name: 'avahi@peer', meta: { color: 'blue' }, source: 'mdns' })
      // Avahi also publishes its link-local IPv6 address over IPv4 (publish-aaaa-on-ipv4)
      const addresses = record.addresses as Array<{ host: string; port: number }>
      expect(addresses[0]).toEqual({ host: topo.nodes[0]!.ipv4, port: 4100 })
      for (const a of addresses.slice(1))
        expect(a).toEqual({ host: expect.stringMatching(/^fe80::.*%eth0$/), port: 4100 })
    })
  }, 40_000)
})

describe('Avahi interop over IPv6 (ff02::fb)', () => {
  let topo: BridgeTopology
  let avahi: Avahi
  let host: BackendHost
  beforeAll(async () => {
    topo = await createBridgeTopology({ count: 2, ipv6: true, label: 'avahi6' })
    ;[avahi, host] = await Promise.all([
      startAvahi({ ns: topo.nodes[0]!.ns, ipv6: true }),
      startHost(topo.nodes[1]!.ns),
    ])
  }, 60_000)
  afterAll(async () => {
    await Promise.allSettled([host?.close(), avahi?.close()])
    await topo?.destroy()
  })

  it('avahi-browse resolves an IPv6-only node over IPv6, and the node discovers an Avahi service over IPv6', async () => {
    const node = await createRemote(host, { ttl: 30, interfaces: { ipv4: false } })
    await node.start()
    const id = testId('avahi-v6')
    await node.announce({ id, name: 'v6node@example', addresses: [{ host: '::', port: 4712 }] })
    let line: string | undefined
    await waitFor(
      async () => {
        const out = await avahi.exec('avahi-browse', ['-rpt', '_peer._udp'], { timeoutMs: 15_000 })
        line = out.split('\n').find((l) => l.startsWith('=;eth0;IPv6;') && l.includes(';4712;'))
        return line
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'avahi-browse to resolve the node over IPv6' },
    )
    expect(line).toContain(`"id=${id}"`)
    // Avahi reports one of the node's AAAA records (it tends to pick the link-local one)
    const address = line!.split(';')[7]!
    const linkLocal = /inet6 (fe80::[0-9a-f:]+)\//.exec(
      (await topo.nodes[1]!.ns.ip(['-6', 'addr', 'show', 'dev', 'eth0'])).stdout,
    )?.[1]
    expect([topo.nodes[1]!.ipv6, linkLocal]).toContain(address)

    const rec = recordEvents(node, ['peer:discovered'])
    const publisher = avahi.spawn('avahi-publish-service', [
      '-s',
      'AvahiV6',
      '_peer._udp',
      '4101',
      `id=${testId('avahi-v6-svc')}`,
    ])
    await publisher.waitFor(/Established under name/, 15_000)
    await waitFor(() => rec.of('peer:discovered').length > 0, {
      timeoutMs: 15_000,
      what: 'Avahi service over IPv6',
    })
    const { record } = rec.of('peer:discovered')[0]!.detail as {
      record: { addresses: Array<{ host: string; port: number }> }
    }
    expect(record.addresses.map((a) => a.host)).toContain(topo.nodes[0]!.ipv6)
    expect(record.addresses.every((a) => a.port === 4101)).toBe(true)
    await publisher.stop()
  }, 45_000)
})
