// Two nodes on loopback: pinned mutual TLS, one message channel, an echo.
// Run: node examples/echo.mjs
import { generateIdentity, TrustList } from '@peer/identity'
import { createTransport } from '@peer/transport-quic'

const [serverIdentity, clientIdentity] = await Promise.all([generateIdentity(), generateIdentity()])

// the server only accepts ids on its trust list
const trust = new TrustList([{ id: clientIdentity.id, label: 'client' }])
// hello bytes travel in the handshake confirmation; each side reads the other's as remoteHello
// (a function gives each connection its own: it gets the peer's authenticated id)
const hello = (text) => new TextEncoder().encode(text)
const server = createTransport({
  identity: serverIdentity,
  trust: trust.predicate,
  hello: ({ id }) => hello(`echo/1 for ${id.slice(0, 8)}`),
})
// the client pins the server's id: any other server fails with PinningError
const client = createTransport({ identity: clientIdentity, trust: () => false, hello: hello('client/1') })
try {
  const listener = await server.listen({ host: '127.0.0.1', port: 0 })
  listener.addEventListener('connection', async ({ detail: { connection } }) => {
    try {
      for await (const channel of connection.channels()) {
        // every message already received at once (one promise per batch, not per message)
        for (;;) {
          const batch = await channel.receiveBatch()
          if (batch === undefined) break // the client finished the channel
          for (const message of batch) await channel.send(message) // echo
        }
        await channel.close()
      }
    } catch (error) {
      console.error(`echo: ${error.message}`)
    }
  })

  const connection = await client.dial(listener.address, { expectedId: serverIdentity.id })
  console.log(`server hello: ${new TextDecoder().decode(connection.remoteHello)}`)
  const channel = await connection.openChannel()
  await channel.send(new TextEncoder().encode(`hello from ${clientIdentity.id.slice(0, 8)}`))
  const reply = new TextDecoder().decode(await channel.receive())
  console.log(`${connection.remoteId.slice(0, 8)} answered: ${reply} (rtt ${connection.rtt} ms)`)
  await channel.close()
  await connection.close('done')
  // the engine's counters keep their final values after close
  const { datagramsSent, datagramsReceived } = connection.stats ?? {}
  console.log(`datagrams: ${datagramsSent} sent, ${datagramsReceived} received`)
} finally {
  await Promise.all([client.close(), server.close()])
}
