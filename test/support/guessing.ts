import { createHash, createHmac } from 'node:crypto';

/**
 * A dictionary attack on a digest, as anyone who reads the ledger, a queue or a table can run it: hash every candidate
 * with plain SHA-256 and with HMAC-SHA256 keyed by every value visible beside the digest, and see which one matches.
 */

/** Every patient id the tools' schema admits (`P-` and four digits): 10,000 candidates. */
export const PATIENT_IDS: readonly string[] = Array.from({ length: 10_000 }, (_, i) => `P-${String(i).padStart(4, '0')}`);

/** Every string (and number, as text) inside `value`: what a reader of it sees. */
export function visibleValues(value: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.add(v);
    else if (typeof v === 'number') out.add(String(v));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') for (const [k, member] of Object.entries(v)) (out.add(k), walk(member));
  };
  walk(value);
  return [...out];
}

/** A visible value as HMAC keys: its UTF-8 bytes, and its bytes as base64url, base64 or hex when it decodes as such. */
function keysOf(value: string): Buffer[] {
  const keys = [Buffer.from(value, 'utf8')];
  if (/^[A-Za-z0-9_-]+$/.test(value)) keys.push(Buffer.from(value, 'base64url'));
  if (/^[A-Za-z0-9+/]+=*$/.test(value)) keys.push(Buffer.from(value, 'base64'));
  if (/^(?:[0-9a-f]{2})+$/i.test(value)) keys.push(Buffer.from(value, 'hex'));
  return keys.filter((k) => k.length > 0);
}

/**
 * The candidates whose digest equals `digest`: each candidate is written every way `encodings` gives, hashed with
 * SHA-256 and with HMAC-SHA256 under each key made of `visible`.
 */
export function recover(digest: string, candidates: readonly string[], encodings: (candidate: string) => string[], visible: readonly string[]): string[] {
  const keys = visible.flatMap(keysOf);
  const found: string[] = [];
  for (const candidate of candidates) {
    for (const bytes of encodings(candidate)) {
      if (createHash('sha256').update(bytes).digest('hex') === digest || keys.some((k) => createHmac('sha256', k).update(bytes).digest('hex') === digest)) {
        found.push(candidate);
        break;
      }
    }
  }
  return found;
}
