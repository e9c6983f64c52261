import { createHmac, randomBytes } from 'node:crypto';
import * as z from 'zod';
import { canonicalJson } from './canonical';
import { SecurityError } from './errors';

/**
 * Keyed digests (DESIGN §6): a digest that leaves its content's label (ledger, envelopes, approvals, directives) is
 * HMAC-SHA256 under a random salt that travels only with the content, sealed, or stays with parties cleared for it.
 * A plain SHA-256 of a patient id or a short answer is recovered by hashing every candidate; without the salt no
 * candidate can be tested.
 */

/** Bytes of a salt: 128 bits from the CSPRNG. */
export const SALT_BYTES = 16;

/** A salt as JSON carries it: base64url of at least {@link SALT_BYTES} bytes. */
export const digestSaltSchema = z.string().regex(/^[A-Za-z0-9_-]{22,86}$/, 'must be at least 128 bits of base64url');

/** A fresh salt (base64url). */
export function newDigestSalt(): string {
  return randomBytes(SALT_BYTES).toString('base64url');
}

/** Lower-case hex HMAC-SHA256 of bytes, or of a string's UTF-8 encoding, keyed by `salt`. */
export function keyedDigest(salt: string, data: Uint8Array | string): string {
  return createHmac('sha256', saltBytes(salt)).update(data).digest('hex');
}

/** {@link keyedDigest} of the RFC 8785 canonical JSON of `value`: equal values, however written, share one digest under one salt. */
export function keyedDigestOf(salt: string, value: unknown): string {
  return keyedDigest(salt, canonicalJson(value));
}

/**
 * A salt derived from a secret salt for one purpose: the same secret and purpose always give the same salt (so work
 * done again after a crash binds the same digest), and nobody without the secret can compute it.
 */
export function deriveSalt(secret: string, purpose: string): string {
  return createHmac('sha256', saltBytes(secret)).update(purpose).digest().subarray(0, SALT_BYTES).toString('base64url');
}

function saltBytes(salt: string): Buffer {
  const bytes = typeof salt === 'string' ? Buffer.from(salt, 'base64url') : Buffer.alloc(0);
  // Fail closed: an empty or short key would make the digest guessable again.
  if (typeof salt !== 'string' || bytes.length < SALT_BYTES) throw new SecurityError('SCHEMA', 'a digest salt has at least 128 bits');
  return bytes;
}
