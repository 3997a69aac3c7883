import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { abortErrorFor, throwIfAborted } from './abort.js'

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /**
   * Permission bits of the file, set at creation (so a secret is never readable by others) and
   * again after (the umask filters the first). Default 0o644.
   */
  mode?: number
  /** Mode of parent directories created on the way. Default 0o700. */
  dirMode?: number
  /** Cancels the write before the rename; the temporary file is removed. */
  signal?: AbortSignal | undefined
}

/**
 * Writes `data` to `path` atomically: to a temporary file in the same directory (created with
 * `mode`, fsynced), then renamed into place, so a crash or an abort never leaves a truncated
 * file. Parent directories are created. The temporary file is removed on failure.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const { mode = 0o644, dirMode = 0o700, signal } = options
  throwIfAborted(signal)
  await mkdir(dirname(path), { recursive: true, mode: dirMode })
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const handle = await open(tmp, 'wx', mode)
    try {
      await handle.writeFile(data, { signal })
      await handle.sync()
    } finally {
      await handle.close()
    }
    await chmod(tmp, mode)
    throwIfAborted(signal)
    await rename(tmp, path)
  } catch (error) {
    await rm(tmp, { force: true })
    throw signal?.aborted ? abortErrorFor(signal) : error
  }
}
