import { generateIdentity, type Identity } from '@peer/identity'
import { createTransport, type Transport, type TransportOptions } from '../src/index.js'

/** Identities are slow-ish to make (~10 ms): share a few per test file. */
export async function identities(n: number): Promise<Identity[]> {
  return Promise.all(Array.from({ length: n }, () => generateIdentity()))
}

/** Tracks transports so `afterEach`/`afterAll` can close them all. */
export class Pool {
  readonly transports: Transport[] = []
  make(identity: Identity, options: Partial<TransportOptions> = {}): Transport {
    const t = createTransport({ identity, trust: () => true, ...options })
    this.transports.push(t)
    return t
  }
  async closeAll(): Promise<void> {
    await Promise.allSettled(this.transports.splice(0).map((t) => t.close('test done')))
  }
}

export const LOOPBACK = { host: '127.0.0.1', port: 0 }

export async function collect<T>(iterable: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = []
  if (n === 0) return out
  for await (const item of iterable) {
    out.push(item)
    if (out.length >= n) break
  }
  return out
}
