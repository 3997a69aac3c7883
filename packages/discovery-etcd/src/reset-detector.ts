// Tells whether the etcd cluster answering is still the store the mirror was built from: a
// revision that goes backwards (restored from an older snapshot, data wiped) or a cluster id that
// changes (another cluster behind the same endpoints) means a reset, after which the prefix must be
// listed again and the lease granted again.
import type { IResponseHeader } from 'etcd3'

/** The revision and cluster id the mirror has seen, and whether a header contradicts them. */
export class ResetDetector {
  #revision = 0
  #listRevision = 0
  #clusterId: string | undefined
  #synced = false

  /** Highest revision seen (0 before the first listing). */
  get revision(): number {
    return this.#revision
  }

  /** Revision of the latest full listing: watch events at or below it are already in it. */
  get listRevision(): number {
    return this.#listRevision
  }

  /** Whether a first listing completed since {@link clear}. */
  get synced(): boolean {
    return this.#synced
  }

  /** Forgets everything (a new start). */
  clear(): void {
    this.#revision = 0
    this.#listRevision = 0
    this.#clusterId = undefined
    this.#synced = false
  }

  /** Whether `header` shows a reset; never before the first listing completed. */
  isReset(header: IResponseHeader): boolean {
    if (!this.#synced) return false
    if (this.#clusterId !== undefined && header.cluster_id !== this.#clusterId) return true
    return Number(header.revision) < this.#revision
  }

  /** A full listing answered with `header`: the mirror is at its revision, of its cluster. */
  listed(header: IResponseHeader): void {
    this.#revision = Number(header.revision)
    this.#listRevision = this.#revision
    this.#clusterId = header.cluster_id
  }

  /** The listing is applied: from now on, headers are checked. */
  markSynced(): void {
    this.#synced = true
  }

  /** A later revision was seen (watch responses). */
  advance(revision: number): void {
    if (revision > this.#revision) this.#revision = revision
  }
}
