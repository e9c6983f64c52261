import { generateKeyPairSync, randomBytes, sign, KeyObject } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { canonicalJson } from '../functions/kernel/canonical';
import type { DirectiveClaims, SignedDirective } from '../functions/kernel/directives/claims';
import { LEVELS, Level } from '../functions/kernel/labels';

/**
 * A KMS that answers at memory speed from precomputed data keys, so timing the kernel around it measures the
 * kernel and not KMS or the network. Benchmark only: it protects nothing.
 */

const ACCOUNT_KEY = (n: number) => `arn:aws:kms:us-east-1:123456789012:key/0000000${n}-0000-4000-8000-000000000000`;

/** Well-formed key ARNs for every level (the keyring refuses malformed ones) and for the authority key. */
export const STUB_KEY_ARNS = Object.freeze(Object.fromEntries(LEVELS.map((l, i) => [l, ACCOUNT_KEY(i)]))) as Readonly<Record<Level, string>>;
export const STUB_AUTHORITY_ARN = ACCOUNT_KEY(9);

export interface StubKms {
  readonly client: KMSClient;
  /** Signs claims as the authority would (ECDSA P-256, DER, over the canonical JSON). */
  signDirective(claims: DirectiveClaims): SignedDirective;
}

/** `poolSize` data keys made up front; GenerateDataKey hands them out in turn and Decrypt looks them up. */
export function stubKms(poolSize = 64): StubKms {
  const pool = Array.from({ length: poolSize }, () => ({ plaintext: randomBytes(32), wrapped: randomBytes(184) }));
  const unwrap = new Map(pool.map((k) => [k.wrapped.toString('base64'), k.plaintext]));
  const authority = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const publicKeyDer = authority.publicKey.export({ format: 'der', type: 'spki' });
  let next = 0;
  const send = async (command: unknown) => {
    if (command instanceof GenerateDataKeyCommand) {
      const key = pool[next++ % pool.length];
      return { KeyId: command.input.KeyId, Plaintext: new Uint8Array(key.plaintext), CiphertextBlob: new Uint8Array(key.wrapped) };
    }
    if (command instanceof DecryptCommand) {
      const plaintext = unwrap.get(Buffer.from(command.input.CiphertextBlob ?? []).toString('base64'));
      if (!plaintext) throw Object.assign(new Error('unknown data key'), { name: 'InvalidCiphertextException' });
      return { KeyId: command.input.KeyId, Plaintext: new Uint8Array(plaintext) };
    }
    if (command instanceof GetPublicKeyCommand) return { KeyId: STUB_AUTHORITY_ARN, PublicKey: new Uint8Array(publicKeyDer) };
    throw new Error(`the stub KMS does not answer ${(command as object).constructor.name}`);
  };
  return {
    client: { send } as unknown as KMSClient,
    signDirective: (claims) => signWith(authority.privateKey, claims),
  };
}

function signWith(key: KeyObject, claims: DirectiveClaims): SignedDirective {
  const signature = sign('sha256', Buffer.from(canonicalJson(claims), 'utf8'), { key, dsaEncoding: 'der' });
  return { claims, signature: signature.toString('base64'), keyId: STUB_AUTHORITY_ARN };
}
