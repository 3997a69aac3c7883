// Well-formed node ids for tests that do not need real key pairs: base32(SHA-256(label)).
import { createHash } from 'node:crypto'
import { encodeBase32 } from '@peer/discovery-core'

/** A valid, deterministic node id derived from `label`. */
export function testId(label: string | number): string {
  return encodeBase32(createHash('sha256').update(String(label)).digest())
}
