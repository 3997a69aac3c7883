import dgram from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { lazyLocalAddress, newSocketInode, openDescriptors, udpPortOfInode } from '../src/local-port.js'

const linux = process.platform === 'linux'
const sockets: dgram.Socket[] = []

async function bound(type: 'udp4' | 'udp6'): Promise<dgram.Socket> {
  const socket = dgram.createSocket(type)
  sockets.push(socket)
  await new Promise<void>((resolve) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', resolve))
  return socket
}

afterEach(() => {
  for (const s of sockets.splice(0)) s.close()
})

describe.runIf(linux)('local port of a socket we did not bind ourselves', () => {
  it('finds the one new socket and its port, on IPv4 and IPv6', async () => {
    for (const type of ['udp4', 'udp6'] as const) {
      const before = openDescriptors()
      const socket = await bound(type)
      const inode = newSocketInode(before)
      expect(inode).toMatch(/^\d+$/)
      expect(udpPortOfInode(inode)).toBe(socket.address().port)
    }
  })

  it('ignores sockets that existed before, even many of them', async () => {
    for (let i = 0; i < 50; i++) await bound('udp4')
    const before = openDescriptors()
    expect(newSocketInode(before)).toBeUndefined()
    const socket = await bound('udp4')
    expect(udpPortOfInode(newSocketInode(before))).toBe(socket.address().port)
  })

  it('cannot tell when two sockets are new', async () => {
    const before = openDescriptors()
    await bound('udp4')
    await bound('udp4')
    expect(newSocketInode(before)).toBeUndefined()
  })

  it('looks the port up on first read and keeps it after the socket closed', async () => {
    const before = openDescriptors()
    const socket = await bound('udp4')
    const port = socket.address().port
    const address = lazyLocalAddress('0.0.0.0', newSocketInode(before))
    expect(address.port).toBe(port)
    socket.close()
    sockets.splice(sockets.indexOf(socket), 1)
    expect(address.port).toBe(port)
    expect({ ...address }).toEqual({ host: '0.0.0.0', port })
    expect(udpPortOfInode(undefined)).toBe(0)
    expect(lazyLocalAddress('::', undefined).port).toBe(0)
  })
})
