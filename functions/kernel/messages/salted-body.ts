import { SALT_BYTES, keyedDigest, newDigestSalt } from '../keyed-digest';
import { SecurityError } from '../errors';

/**
 * What a message's ciphertext seals: the salt of its content digest, then the content. The envelope's
 * `contentDigest` is HMAC-SHA256 under that salt (DESIGN §6), so only sender and addressee, who can open the
 * ciphertext, can check it or test a guess against it; whoever reads queues or the ledger cannot.
 */

export interface SaltedBody {
  /** base64url, {@link SALT_BYTES} bytes. */
  readonly salt: string;
  readonly content: Buffer;
}

/** The bytes to seal for `content` under `salt` (a fresh one unless given) and the digest the envelope carries. */
export function saltBody(content: Uint8Array | string, salt: string = newDigestSalt()): { sealed: Buffer; salt: string; contentDigest: string } {
  const saltBytes = Buffer.from(salt, 'base64url');
  if (saltBytes.length !== SALT_BYTES) throw new SecurityError('SCHEMA', `a content salt is ${SALT_BYTES} bytes`);
  const bytes = Buffer.from(content);
  return { sealed: Buffer.concat([saltBytes, bytes]), salt, contentDigest: keyedDigest(salt, bytes) };
}

/** Splits an opened ciphertext into its salt and content; a body too short to carry a salt was not sealed by the kernel (TAMPERED). */
export function unsaltBody(opened: Buffer): SaltedBody {
  if (opened.length < SALT_BYTES) throw new SecurityError('TAMPERED', 'a sealed body carries its digest salt');
  return { salt: opened.subarray(0, SALT_BYTES).toString('base64url'), content: Buffer.from(opened.subarray(SALT_BYTES)) };
}
