// Sends a file from one node to another over a byte stream (QUIC backpressure end to end); the
// receiver writes it to disk and answers with its SHA-256 on the same (duplex) stream.
// Run: node examples/send-file.mjs [file]   (without a file: 4 MiB of random bytes)
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode } from '@peer/node'

export async function main(file) {
  const dir = await mkdtemp(join(tmpdir(), 'peer-send-file-'))
  const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
  const discovery = new StaticDiscovery()
  const receiver = await createNode({ name: 'receiver@localhost', identity: b, trust: [a.id] })
  const sender = await createNode({ name: 'sender@localhost', identity: a, trust: [b.id], discovery })
  try {
    const source = file ?? join(dir, 'random.bin')
    if (file === undefined) await writeFile(source, randomBytes(4 * 1024 * 1024))

    // the receiver: every stream on topic `file` is saved to disk, then answered with its hash
    receiver.handleStream('file', async (stream) => {
      const hash = createHash('sha256')
      const target = createWriteStream(join(dir, 'received.bin'))
      const save = Writable.toWeb(target)
      const hashing = new TransformStream({
        transform(chunk, controller) {
          hash.update(chunk)
          controller.enqueue(chunk)
        },
      })
      await stream.readable.pipeThrough(hashing).pipeTo(save)
      const writer = stream.writable.getWriter()
      await writer.write(new TextEncoder().encode(hash.digest('hex')))
      await writer.close()
    })

    discovery.add({ id: receiver.id, name: receiver.name, addresses: [receiver.address] })
    await sender.waitForPeer('receiver')
    const stream = await sender.openStream('receiver', 'file')
    // a Node readable becomes a web stream in one call; pipeTo waits whenever the peer is slower
    await Readable.toWeb(createReadStream(source)).pipeTo(stream.writable)
    let answer = ''
    const reader = stream.readable.getReader()
    for (let r = await reader.read(); !r.done; r = await reader.read())
      answer += new TextDecoder().decode(r.value)

    const expected = createHash('sha256')
    for await (const chunk of createReadStream(source)) expected.update(chunk)
    const { size } = await stat(source)
    const line = `sent ${size} bytes; the receiver's sha256 ${answer === expected.digest('hex') ? 'matches' : 'DIFFERS'}`
    console.log(line)
    return line
  } finally {
    await Promise.all([sender.stop(), receiver.stop()])
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv[2])
