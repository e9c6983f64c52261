import { KeyObject } from 'node:crypto';
import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import * as z from 'zod';
import { canonicalJson } from '../canonical';
import { authorityPublicKey, signatureValid } from '../directives/verify';
import { LedgerEntry, LedgerEntryInput } from './entry';
import { CheckpointVerifier } from './verify-chain';
import { ledgerVerifierKey } from './log-tree';

/**
 * Signed ledger checkpoints (DESIGN §7): the signer signs "entry `seq` of `chain` has hash `hash`" with the
 * authority key, records it as a `checkpoint` entry and keeps the latest one as the chain's anchor. Everyone
 * verifies locally with the authority's public key.
 */

/** What a checkpoint vouches for: the entry `seq` of `chain` has hash `hash`, and so does everything it links to. */
export interface CheckpointStatement {
  readonly chain: string;
  readonly seq: number;
  readonly hash: string;
}

export const signedCheckpointSchema = z
  .object({
    chain: z.string().min(1).max(128),
    seq: z.int().min(1),
    hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 hex digest'),
    /** The key that signed: always the authority key, or the checkpoint does not count. */
    keyId: z.string().min(1).max(2048),
    /** DER-encoded ECDSA P-256 signature over the canonical JSON of `{chain, seq, hash}`, base64. */
    signature: z.base64().min(8).max(128),
  })
  .strict();

export type SignedCheckpoint = z.output<typeof signedCheckpointSchema>;

/** The signed bytes: RFC 8785 JSON of exactly `{chain, seq, hash}`, so nothing else a checkpoint carries is trusted. */
function statementBytes(statement: CheckpointStatement): Buffer {
  return Buffer.from(canonicalJson({ chain: statement.chain, seq: statement.seq, hash: statement.hash }), 'utf8');
}

/**
 * Signs a statement with the authority key (KMS Sign, ECDSA_SHA_256). Only the signer function calls this;
 * IAM and the key policy let nobody else sign with the key (DESIGN §3).
 */
export async function signCheckpoint(kms: KMSClient, authorityKeyArn: string, statement: CheckpointStatement): Promise<SignedCheckpoint> {
  const out = await kms.send(
    new SignCommand({ KeyId: authorityKeyArn, Message: statementBytes(statement), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }),
  );
  if (!out.Signature) throw new Error('KMS Sign returned no signature');
  const signature = Buffer.from(out.Signature).toString('base64');
  return signedCheckpointSchema.parse({ chain: statement.chain, seq: statement.seq, hash: statement.hash, keyId: authorityKeyArn, signature });
}

/**
 * The ledger entry that records a checkpoint: the covered hash and the signature as digests, seq and key as detail,
 * and the signed tree head over the same entries (its root and signature line, `functions/kernel/ledger/log-tree.ts`).
 */
export function checkpointEntry(
  signed: SignedCheckpoint,
  actor: string,
  tree?: { readonly size: number; readonly root: string; readonly signature: string },
): LedgerEntryInput {
  return {
    type: 'checkpoint',
    actor,
    digests: { hash: signed.hash, signature: signed.signature, ...(tree ? { treeRoot: tree.root, treeSignature: tree.signature } : {}) },
    detail: { seq: signed.seq, keyId: signed.keyId, ...(tree ? { treeSize: tree.size } : {}) },
  };
}

/** The signed checkpoint a `checkpoint` entry carries; undefined when it carries none (a bad checkpoint). */
export function checkpointOf(entry: LedgerEntry): SignedCheckpoint | undefined {
  const parsed = signedCheckpointSchema.safeParse({
    chain: entry.chain,
    seq: entry.detail?.seq,
    hash: entry.digests?.hash,
    keyId: entry.detail?.keyId,
    signature: entry.digests?.signature,
  });
  return parsed.success ? parsed.data : undefined;
}

/**
 * Checks checkpoints against the authority's public key, locally, with no KMS call per checkpoint.
 *
 * @example
 * const signatures = await CheckpointSignatures.forAuthority(kms, authorityKeyArn);
 * verifyChain(entries, { verifyCheckpoint: signatures.verifyCheckpoint });
 */
export class CheckpointSignatures {
  constructor(
    private readonly publicKey: KeyObject,
    readonly authorityKeyArn: string,
  ) {}

  /** Built from the authority key's public key, fetched once per process (functions/kernel/directives/verify.ts). */
  static async forAuthority(kms: KMSClient, authorityKeyArn: string): Promise<CheckpointSignatures> {
    return new CheckpointSignatures(await authorityPublicKey(kms, authorityKeyArn), authorityKeyArn);
  }

  /** The verifier key of a chain's signed tree heads (c2sp.org/signed-note), made from the authority's public key. */
  verifierKey(chain: string): string {
    return ledgerVerifierKey(chain, this.publicKey);
  }

  /** True when the authority key signed this statement. The checkpoint never chooses the key that vouches for it. */
  verifies(signed: SignedCheckpoint): boolean {
    if (signed.keyId !== this.authorityKeyArn) return false;
    return signatureValid(this.publicKey, statementBytes(signed), Buffer.from(signed.signature, 'base64'));
  }

  /**
   * `verifyChain`'s hook: a checkpoint entry counts when it is signed by the authority, is about its own chain,
   * and the hash it covers is the hash the (already verified) chain holds at that seq; signed by the authority
   * over another hash, it shows the entries it covers were rewritten.
   */
  readonly verifyCheckpoint: CheckpointVerifier = (entry, hashAt) => {
    const signed = checkpointOf(entry);
    if (signed === undefined || signed.chain !== entry.chain || !this.verifies(signed)) return false;
    const held = hashAt(signed.seq);
    if (held === signed.hash) return { covers: signed.seq };
    return held === undefined ? false : { rewritten: signed.seq };
  };
}

export const checkpointOutcomeSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('written'), checkpoint: signedCheckpointSchema, entrySeq: z.int().min(2) }).strict(),
  z
    .object({
      status: z.literal('not_due'),
      /** The head's seq (0 for an empty chain). */
      head: z.int().min(0),
      /** Where the anchored checkpoint entry is; null before the first checkpoint. */
      lastCheckpoint: z.int().min(1).nullable(),
    })
    .strict(),
]);

/** What `checkpoint` did: signed and recorded a checkpoint, or found none due. */
export type CheckpointOutcome = z.output<typeof checkpointOutcomeSchema>;
