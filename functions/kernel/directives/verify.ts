import { KeyObject, createPublicKey, verify as verifySignature } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { canonicalJson } from '../canonical';
import { SecurityError } from '../errors';
import { describeIssues } from '../schemas';
import { DirectiveExpectation, assertDirectiveBinding } from './binding';
import { CLOCK_SKEW_MS, DirectiveClaims, signedDirectiveSchema } from './claims';

/** Public keys by key ARN: fetched once per process, so verification never costs a KMS call. */
const publicKeys = new Map<string, Promise<KeyObject>>();

/** The authority key's public key (ECC_NIST_P256), fetched once per process: directives and ledger checkpoints verify with it. */
export function authorityPublicKey(kms: KMSClient, keyArn: string): Promise<KeyObject> {
  let key = publicKeys.get(keyArn);
  if (!key) {
    key = fetchPublicKey(kms, keyArn);
    publicKeys.set(keyArn, key);
    // A failed fetch (throttling, network) must not poison the cache for the life of the process.
    key.catch(() => {
      if (publicKeys.get(keyArn) === key) publicKeys.delete(keyArn);
    });
  }
  return key;
}

async function fetchPublicKey(kms: KMSClient, keyArn: string): Promise<KeyObject> {
  const out = await kms.send(new GetPublicKeyCommand({ KeyId: keyArn }));
  if (!out.PublicKey) throw new Error(`KMS returned no public key for ${keyArn}`);
  const key = createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
  // Fail closed: the authority key is ECC_NIST_P256 (DESIGN §3); anything else is a misconfiguration.
  if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`authority key ${keyArn} is not an ECC_NIST_P256 key`);
  }
  return key;
}

/** True when `signature` (DER ECDSA) over `message` verifies under `key`; malformed signatures are simply invalid. */
export function signatureValid(key: KeyObject, message: Buffer, signature: Buffer): boolean {
  try {
    return verifySignature('sha256', message, { key, dsaEncoding: 'der' }, signature);
  } catch {
    // Malformed DER: not a signature at all.
    return false;
  }
}

export interface DirectiveVerifierProps {
  readonly kms: KMSClient;
  /** The one authority key whose signatures count. */
  readonly authorityKeyArn: string;
  /** Clock in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/**
 * Verifies signed directives locally with the authority's public key.
 *
 * @example
 * const verifier = new DirectiveVerifier({ kms, authorityKeyArn });
 * const claims = await verifier.verify(signed, { kind: 'tool', target: 'scheduler', commandId, tool, args, argsSalt });
 */
export class DirectiveVerifier {
  private readonly kms: KMSClient;
  private readonly authorityKeyArn: string;
  private readonly now: () => number;

  constructor(props: DirectiveVerifierProps) {
    this.kms = props.kms;
    this.authorityKeyArn = props.authorityKeyArn;
    this.now = props.now ?? Date.now;
  }

  /**
   * The directive's claims when it is signed by the authority key (BAD_SIGNATURE), current (EXPIRED) and
   * bound to `expected` (BINDING_MISMATCH). Single use is the caller's to enforce with the nonce.
   */
  async verify(signed: unknown, expected: DirectiveExpectation): Promise<DirectiveClaims> {
    const claims = await this.authentic(signed);
    const now = this.now();
    if (now >= claims.expiresAt) throw new SecurityError('EXPIRED', `directive ${claims.id} expired`);
    if (claims.issuedAt > now + CLOCK_SKEW_MS) throw new SecurityError('EXPIRED', `directive ${claims.id} is issued in the future`);
    assertDirectiveBinding(claims, expected);
    return claims;
  }

  /** Claims whose signature verifies under the authority key; any malformation is BAD_SIGNATURE. */
  private async authentic(signed: unknown): Promise<DirectiveClaims> {
    const parsed = signedDirectiveSchema.safeParse(signed);
    if (!parsed.success) throw new SecurityError('BAD_SIGNATURE', `malformed directive: ${describeIssues(parsed.error)}`);
    const { claims, signature, keyId } = parsed.data;
    // The message never chooses the key that vouches for it.
    if (keyId !== this.authorityKeyArn) throw new SecurityError('BAD_SIGNATURE', `directive ${claims.id} names another key`);
    const key = await authorityPublicKey(this.kms, this.authorityKeyArn);
    // Verify what was received, byte for byte after canonicalization, not a re-serialization of parsed values.
    let message: Buffer;
    try {
      message = Buffer.from(canonicalJson((signed as { claims: unknown }).claims), 'utf8');
    } catch {
      throw new SecurityError('BAD_SIGNATURE', `directive ${claims.id} claims are not canonical JSON`);
    }
    if (!signatureValid(key, message, Buffer.from(signature, 'base64'))) throw new SecurityError('BAD_SIGNATURE', `directive ${claims.id} is not signed by the authority`);
    return claims;
  }
}
