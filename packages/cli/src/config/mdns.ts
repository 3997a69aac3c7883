import { z } from 'zod'

/** Options of the `mdns` discovery backend (`@peer/discovery-mdns`). */
export const mdnsBackend = z.strictObject({
  backend: z.literal('mdns'),
  /** DNS-SD service type, e.g. `_peer._udp`. */
  service: z
    .string()
    .regex(/^_[A-Za-z0-9-]{1,15}\._(udp|tcp)$/, 'expected a DNS-SD service type like "_peer._udp"')
    .optional(),
  /** Interface names (or addresses) to use; default every multicast-capable interface. */
  interfaces: z.array(z.string().min(1).max(64)).max(64).optional(),
  /** Record TTL in seconds. */
  ttl: z.number().int().min(1).max(4500).optional(),
  /** IP families to use (default both). */
  families: z
    .array(z.union([z.literal(4), z.literal(6)]))
    .min(1)
    .max(2)
    .optional(),
})
