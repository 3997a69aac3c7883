// The realistic path of `pnpm bench transport`: two network namespaces joined by a veth pair with
// MTU 1500, each stack's server child in one and its client child in the other, the `network`
// tuning (picked from the non-loopback address). Root only; everything is removed afterwards, even on failure
// (and by the testkit's exit hooks if this process dies).
import type { Identity } from '@peer/identity'
import type { RpcChild } from '@peer/testkit/child-process'
import { canCreateNetns, connectVeth, createNetns, type Netns } from '@peer/testkit/netns'
import { interleaved, percentile } from './bench-stats.js'
import { emptyStackValues, type Figures } from './transport-figures.js'
import { stackRuns, startStackPairs } from './transport-pairs.js'
import { STACKS, type StackName } from './transport-stacks.js'

const MiB = 1024 * 1024
// addresses inside the two namespaces this phase creates (nothing outside them is ever a target)
const SERVER_ADDRESS = '10.213.0.1'
const CLIENT_ADDRESS = '10.213.0.2'

export async function runVeth(o: {
  identity: Identity
  quick: boolean
  figures: Figures
  log: (line: string) => void
}): Promise<string> {
  const { identity, quick, figures, log } = o
  if (!canCreateNetns()) {
    const why = 'veth path skipped: creating network namespaces needs root and iproute2'
    log(why)
    return why
  }
  const bulkRounds = quick ? 2 : 8
  const rateRounds = quick ? 1 : 3
  const bytes = quick ? 4 * MiB : 8 * MiB
  // @matrixai moves 1 to 5 MB/s across the veth pair, quinn and tls 100 to 300 MB/s: the fast stacks
  // get 12 times the bytes, so that their runs last long enough to be measured
  const bytesOf = (stack: StackName) => (stack.endsWith('matrixai') ? bytes : 12 * bytes)
  const namespaces: Netns[] = []
  const children: RpcChild[] = []
  try {
    const [a, b] = await Promise.all([
      createNetns({ label: 'bench-srv' }),
      createNetns({ label: 'bench-cli' }),
    ])
    namespaces.push(a, b)
    await connectVeth(
      { ns: a, addresses: [`${SERVER_ADDRESS}/24`], multicastRoute: false },
      { ns: b, addresses: [`${CLIENT_ADDRESS}/24`], multicastRoute: false },
    )
    for (const ns of [a, b]) await ns.ip(['link', 'set', 'eth0', 'mtu', '1500'])
    const mtu = (await b.ip(['-o', 'link', 'show', 'eth0'])).stdout.match(/mtu (\d+)/)?.[1]
    // a server and a client child per stack, in the two namespaces
    const { pairs, endpoints } = await startStackPairs(identity, SERVER_ADDRESS, children, {
      server: a.name,
      client: b.name,
    })
    const { onFresh, warm, timed } = stackRuns(pairs, endpoints)
    /** MB/s of one bulk run on a fresh connection, after an untimed warm-up on it. */
    const bulkRun = (stack: StackName, warmBytes: number, messageBytes?: number) =>
      onFresh(stack, async () => {
        await warm(stack, 'bulk', warmBytes, messageBytes)
        return (await timed(stack, 'bulk', bytesOf(stack), messageBytes)).value ?? Number.NaN
      })
    const bulk = await interleaved(STACKS, bulkRounds, (stack) => bulkRun(stack, 2 * MiB), 120_000)
    figures.add(
      'bulk, veth',
      'MB/s',
      bulk,
      'higher',
      `${bytes / MiB} MiB per run (quinn and tls stacks: ${(12 * bytes) / MiB} MiB) across the veth pair, MTU ${mtu}`,
    )

    // messages larger than one read (at most 256 KiB): the receiver assembles each from the pieces
    // its reads bring (views, copied once; see the transport's frame decoder)
    const largeRounds = Math.max(2, bulkRounds / 2)
    const mcs = emptyStackValues()
    const large = await interleaved(
      STACKS,
      largeRounds,
      async (stack) => {
        const { server } = pairs[stack]
        const before = await server.call<number>('majorGcs')
        const rate = await bulkRun(stack, 4 * MiB, MiB)
        mcs[stack].push((await server.call<number>('majorGcs')) - before)
        return rate
      },
      120_000,
    )
    log(
      `bulk of 1 MiB messages, veth: the server's mark-compacts per run: ${STACKS.map((s) => `${s} ${mcs[s].join(' / ')}`).join(', ')}`,
    )
    figures.add(
      'bulk of 1 MiB messages, veth',
      'MB/s',
      large,
      'higher',
      `1 MiB messages (raw stacks: 1 MiB writes), ${bytes / MiB} MiB per run (quinn and tls: ${(12 * bytes) / MiB} MiB)`,
    )

    const p50 = emptyStackValues()
    const rates = await interleaved(
      STACKS,
      rateRounds,
      async (stack) => {
        const n = quick ? 50_000 : 200_000
        const requests = quick ? 300 : 1_000
        // messages, then request/response, on one connection, each warmed up first
        const [rate, samples] = await onFresh(stack, async () => {
          await warm(stack, 'messages', Math.min(n, 20_000))
          const sent = await timed(stack, 'messages', n)
          await warm(stack, 'echo', 100)
          return [sent.value ?? Number.NaN, (await timed(stack, 'echo', requests)).samples] as const
        })
        p50[stack].push(
          percentile(
            [...samples].sort((x, y) => x - y),
            0.5,
          ),
        )
        return rate
      },
      120_000,
    )
    figures.add('64 B messages, veth', 'msg/s', rates, 'higher')
    figures.add('request/response p50, veth', 'us', p50, 'lower')
    return `veth: two network namespaces joined by a veth pair (MTU ${mtu}), a server and a client child process per stack, each in its namespace, \`network\` tuning; bulk ${bulkRounds} x ${bytes / MiB} MiB (x 12 for the quinn and tls stacks), the same in 1 MiB messages ${largeRounds} x, messages and request/response ${rateRounds} round(s), per stack`
  } finally {
    await Promise.allSettled(children.map((c) => c.close()))
    await Promise.allSettled(namespaces.map((ns) => ns.delete()))
  }
}
