// How a DemoCluster stops its nodes: SIGTERM, then SIGKILL after a grace that a signal can cut.
import type { ChildProcess } from 'node:child_process'
import type { AbortOptions } from '@peer/discovery-core'
import { whenAborted } from '@peer/discovery-core/internal'

/** Options of `DemoCluster.close`. */
export interface DemoCloseOptions extends AbortOptions {
  /** How long the nodes get to stop after SIGTERM before they are killed (SIGKILL), ms. Default 5000. */
  graceMs?: number | undefined
}

/**
 * Stops one child of a `DemoCluster`: SIGTERM (and its stdin closed), then SIGKILL after
 * `graceMs`, or as soon as `hurry` aborts (already aborted: SIGKILL straight away). Resolves once
 * the child has closed, with whether the grace ran out (the child did not exit on SIGTERM in
 * time: a stop that hung); no listener stays on `hurry`.
 */
export function stopChild(child: ChildProcess, graceMs: number, hurry: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(false)
    let overdue = false
    let off: (() => void) | undefined
    const kill = () => child.kill('SIGKILL')
    const timer = setTimeout(() => {
      overdue = true
      kill()
    }, graceMs)
    child.once('close', () => {
      clearTimeout(timer)
      off?.()
      resolve(overdue)
    })
    if (hurry.aborted) return void kill()
    // one listener on `hurry` however many children stop at once (no leak warning past ten)
    off = whenAborted(hurry, kill)
    child.kill('SIGTERM')
    child.stdin?.end()
  })
}
