import { z } from 'zod'
import {
  address,
  MAX_ADVERTISED_ADDRESSES,
  MAX_INLINE_PEERS,
  meta,
  nodeId,
  nodeName,
  path,
} from './fields.js'

/** One peer of a static peer list. */
const staticPeer = z.strictObject({
  id: nodeId,
  name: nodeName.optional(),
  addresses: z.array(address()).max(MAX_ADVERTISED_ADDRESSES),
  meta: meta.optional(),
})

/** Options of the `static` discovery backend (`@peer/discovery-static`). */
export const staticBackend = z
  .strictObject({
    backend: z.literal('static'),
    /** Peers listed inline. */
    peers: z.array(staticPeer).max(MAX_INLINE_PEERS).optional(),
    /** A peer list file (watched). */
    file: path.optional(),
    /** Watch `file` for edits (default true). */
    watch: z.boolean().optional(),
    /** An environment variable holding a peer list. */
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
      .optional(),
  })
  .check((ctx) => {
    const v = ctx.value
    if (v.peers === undefined && v.file === undefined && v.env === undefined) {
      ctx.issues.push({ code: 'custom', message: 'give at least one of "peers", "file" or "env"', input: v })
    }
  })
