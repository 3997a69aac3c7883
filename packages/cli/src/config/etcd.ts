import { quote } from '@peer/discovery-core/internal'
import { z } from 'zod'
import { millis } from './fields.js'

const etcdEndpoint = z.string().check((ctx) => {
  let ok = false
  try {
    const url = new URL(ctx.value)
    ok = (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
  } catch {}
  if (!ok) {
    ctx.issues.push({
      code: 'custom',
      message: `expected an etcd URL like "http://127.0.0.1:2379", got ${quote(ctx.value)}`,
      input: ctx.value,
    })
  }
})

/** Options of the `etcd` discovery backend (`@peer/discovery-etcd`). */
export const etcdBackend = z.strictObject({
  backend: z.literal('etcd'),
  endpoints: z.union([etcdEndpoint, z.array(etcdEndpoint).min(1).max(16)]),
  prefix: z
    .string()
    .regex(/^\/[^\s]*$/, 'expected a key prefix starting with "/"')
    .max(256)
    .optional(),
  ttl: z.number().int().min(1).max(3600).optional(),
  staleAfterMs: millis.optional(),
  requestTimeoutMs: millis.optional(),
})
