import { hostProblem } from '@peer/discovery-core'
import { quote } from '@peer/discovery-core/internal'
import { z } from 'zod'
import { millis, parseAddress, weekMs } from './fields.js'

const resolver = z.string().check((ctx) => {
  const parsed = parseAddress(ctx.value)
  const ipLiteral = parsed.ok && /^[0-9.]+$|:/.test(parsed.address.host)
  if (!parsed.ok || !ipLiteral) {
    ctx.issues.push({
      code: 'custom',
      message: `expected a resolver as "ip:port" (e.g. "127.0.0.1:53" or "[::1]:5353"), got ${quote(ctx.value)}`,
      input: ctx.value,
    })
  }
})

const dnsName = z.string().check((ctx) => {
  const problem = hostProblem(ctx.value)
  if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value })
})

/** Options of the `dns` discovery backend (`@peer/discovery-dns`). */
export const dnsBackend = z
  .strictObject({
    backend: z.literal('dns'),
    resolvers: z.union([resolver, z.array(resolver).min(1).max(16)]),
    domain: dnsName.optional(),
    service: dnsName.optional(),
    servicePrefix: z.string().min(1).max(253).optional(),
    defaultPort: z.number().int().min(1).max(65535).optional(),
    idSource: z.enum(['txt', 'label', 'txt-or-label']).optional(),
    families: z
      .array(z.union([z.literal(4), z.literal(6)]))
      .min(1)
      .max(2)
      .optional(),
    minTtlMs: weekMs.optional(),
    maxTtlMs: weekMs.optional(),
    staleAfterMs: weekMs.optional(),
    retryDelayMs: weekMs.optional(),
    maxRetryDelayMs: millis.optional(),
    jitter: z.number().min(0).max(1).optional(),
    concurrency: z.number().int().min(1).max(256).optional(),
    timeoutMs: millis.optional(),
    attempts: z.number().int().min(1).max(10).optional(),
  })
  .check((ctx) => {
    if (ctx.value.domain === undefined && ctx.value.service === undefined) {
      ctx.issues.push({ code: 'custom', message: 'give "domain" or "service"', input: ctx.value })
    }
  })
