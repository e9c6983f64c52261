import { KeyObject } from 'node:crypto';
import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import * as z from 'zod';
import { canonicalJson } from '../canonical';
import type { CheckpointAnchors } from './checkpoint-anchor';
import { authorityPublicKey, signatureValid } from '../directives/directives';
import { SecurityError } from '../errors';
import { CheckpointVerifier, LedgerEntry, LedgerEntryInput, LedgerReader, LedgerWriter } from './ledger';

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

/** The ledger entry that records a checkpoint: the covered hash and the signature as digests, seq and key as detail. */
export function checkpointEntry(signed: SignedCheckpoint, actor: string): LedgerEntryInput {
  return {
    type: 'checkpoint',
    actor,
    digests: { hash: signed.hash, signature: signed.signature },
    detail: { seq: signed.seq, keyId: signed.keyId },
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

  /** Built from the authority key's public key, fetched once per process (functions/kernel/directives.ts). */
  static async forAuthority(kms: KMSClient, authorityKeyArn: string): Promise<CheckpointSignatures> {
    return new CheckpointSignatures(await authorityPublicKey(kms, authorityKeyArn), authorityKeyArn);
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

export interface CheckpointerProps {
  /** KMS client for `Sign` with the authority key: the signer's only (DESIGN §3). */
  readonly kms: KMSClient;
  readonly authorityKeyArn: string;
  /** Reads the head of the chain to checkpoint. */
  readonly reader: Pick<LedgerReader, 'head'>;
  /** Appends the `checkpoint` entry to the same chain. */
  readonly ledger: Pick<LedgerWriter, 'append' | 'chain'>;
  /** The chain's anchor, outside the chain. */
  readonly anchors: Pick<CheckpointAnchors, 'load' | 'advance'>;
  /** Entries appended since the last checkpoint that make the next one due (`topology.runtime.checkpointEvery`). */
  readonly every: number;
  /** Who signs, in the ledger. */
  readonly actor: string;
}

/**
 * Signs the head of the chain every `every` entries, or at once when forced. Order matters for truncation
 * evidence: the entry is appended first and the anchor advanced second, so the anchor never names an entry the
 * chain does not hold; a crash in between only leaves the anchor one checkpoint behind.
 *
 * @example
 * const checkpointer = new Checkpointer({ kms, authorityKeyArn, reader, ledger, anchors, every: 50, actor: 'signer' });
 * await checkpointer.checkpoint(); // on schedule
 * await checkpointer.checkpoint(true); // on demand
 */
export class Checkpointer {
  constructor(private readonly props: CheckpointerProps) {
    if (!Number.isInteger(props.every) || props.every < 1) throw new Error(`checkpoint interval must be a positive integer, not ${props.every}`);
  }

  async checkpoint(force = false): Promise<CheckpointOutcome> {
    const { kms, authorityKeyArn, reader, ledger, anchors, every, actor } = this.props;
    const anchor = await anchors.load();
    const head = await reader.head();
    const lastCheckpoint = anchor?.entrySeq ?? null;
    const headSeq = head?.seq ?? 0;
    // Never vouch for a chain shorter than what was already vouched for: that is truncation (DESIGN §7).
    if (headSeq < (lastCheckpoint ?? 0)) {
      throw new SecurityError('CHAIN_BROKEN', `chain ${ledger.chain} ends at seq ${headSeq}, before its anchored checkpoint at seq ${lastCheckpoint}`);
    }
    // Counted from the anchored checkpoint, never from a `checkpoint` entry anyone could have appended.
    const appended = headSeq - (lastCheckpoint ?? 0);
    if (head === undefined || appended === 0 || (!force && appended < every)) return { status: 'not_due', head: headSeq, lastCheckpoint };
    const signed = await signCheckpoint(kms, authorityKeyArn, { chain: ledger.chain, seq: head.seq, hash: head.hash });
    const entry = await ledger.append(checkpointEntry(signed, actor));
    // False when a concurrent checkpoint anchored this head or a later one first: the anchor only moves forward.
    await anchors.advance({ checkpoint: signed, entrySeq: entry.seq });
    return { status: 'written', checkpoint: signed, entrySeq: entry.seq };
  }
}
