// A UDP socket on loopback that reads every datagram and never answers: a QUIC dial to its port
// waits out its time limit, as a dial to a peer that is down, or not up yet, does. Real packets, on
// loopback (or the host given); the caller closes the socket.
import { createSocket, type Socket } from 'node:dgram'

/** Binds a socket that swallows everything on `host` (default 127.0.0.1), `port` (default: any free one). */
export async function silentUdpSocket(
  options: { host?: string; port?: number } = {},
): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4')
  socket.on('message', () => {})
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      socket.off('error', reject)
      resolve()
    })
  })
  return { socket, port: socket.address().port }
}
