// What the kernel gives a listener's UDP socket for `socketBufferSize`, and the one-time note
// when it gives less. A receive buffer that fills drops datagrams: a process paused for a few
// seconds (a VM, a long garbage collection, SIGSTOP) resumes with the newest packets of its peers
// lost, and QUIC resends them only after its back-off (docs/benchmarks/cluster-churn.md).
import { readFileSync } from 'node:fs'

/** The kernel's UDP socket buffer sizes (bytes): Linux `net.core.rmem_default` and `rmem_max`. */
export interface KernelReceiveBuffers {
  /** What a socket gets when nobody sizes it (`net.core.rmem_default`). */
  readonly default: number
  /** The most a process without privileges can ask for (`net.core.rmem_max`). */
  readonly max: number
}

/** The kernel's receive buffer sizes, or `undefined` where they cannot be read (not Linux). */
export function kernelReceiveBuffers(): KernelReceiveBuffers | undefined {
  try {
    const read = (name: string) => Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8').trim())
    const sizes = { default: read('rmem_default'), max: read('rmem_max') }
    return Number.isSafeInteger(sizes.default) && Number.isSafeInteger(sizes.max) ? sizes : undefined
  } catch {
    return undefined
  }
}

/** A listener's receive buffer below what was asked: the size it gets, and how to raise it. */
export interface ReceiveBufferShortfall {
  /** The receive buffer the listener's socket gets (bytes). */
  readonly effective: number
  /** The `sysctl` command that gives it the size asked for. */
  readonly raise: string
}

/**
 * The receive buffer a listener gets for `requested` bytes, when below it: an engine that sizes
 * its listener's socket gets at most `rmem_max`; one that does not (quinn's binding sizes only
 * its client sockets) keeps `rmem_default`. `undefined` when it gets what it asked for, when
 * nothing was asked (0), or when the kernel's sizes are unknown.
 */
export function receiveBufferShortfall(
  requested: number,
  sizesListener: boolean,
  kernel: KernelReceiveBuffers | undefined,
): ReceiveBufferShortfall | undefined {
  if (kernel === undefined || requested <= 0) return undefined
  const effective = sizesListener ? Math.min(requested, kernel.max) : kernel.default
  if (effective >= requested) return undefined
  const setting = sizesListener ? 'net.core.rmem_max' : 'net.core.rmem_default'
  return { effective, raise: `sysctl -w ${setting}=${requested}` }
}
