import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import { canonicalJson } from '../canonical';
import { SecurityError, isSecurityError } from '../errors';
import { LedgerEntry } from './entry';
import { consistencyProof, inclusionProof, leafHash, rootOf, verifyConsistency, verifyInclusion } from './merkle';
import { TreeHead, openTreeHead, treeHeadText, verifierKeyOf } from './tree-head';

/**
 * The ledger as a Merkle tree (DESIGN §7): leaf `seq` is the RFC 9162 leaf hash of the RFC 8785 JSON of entry `seq`,
 * whole, and each checkpoint carries a tree head over every entry up to the one it covers, signed by the authority
 * key as a C2SP checkpoint. Anyone holding the verifier key can then check one entry with an inclusion proof,
 * offline, without the rest of the ledger.
 */

/** The origin line of a chain's signed tree heads, and the key name that signs them. */
export function logOrigin(chain: string): string {
  return `agentsec.ledger/${chain}`;
}

/** The leaf hash of one entry: SHA-256(0x00 || RFC 8785 JSON of the entry as stored). */
export function entryLeaf(entry: LedgerEntry): Buffer {
  return leafHash(Buffer.from(canonicalJson(entry), 'utf8'));
}

/** The tree head of the first `size` entries of a chain (seq 1..size). */
export function treeHeadOf(chain: string, entries: readonly LedgerEntry[], size = entries.length): TreeHead {
  return { origin: logOrigin(chain), size, rootHash: rootOf(entries.slice(0, size).map(entryLeaf)) };
}

/** The verifier key of a chain's tree heads: what an offline verifier pins (c2sp.org/signed-note). */
export function ledgerVerifierKey(chain: string, authorityPublicKey: KeyObject): string {
  return verifierKeyOf(logOrigin(chain), authorityPublicKey);
}

/** The signed note of a tree head as a checkpoint entry records it (the root and the signature line's blob as digests). */
export function treeHeadNoteOf(entry: LedgerEntry): string | undefined {
  const size = entry.detail?.treeSize;
  const root = entry.digests?.treeRoot;
  const signature = entry.digests?.treeSignature;
  if (typeof size !== 'number' || root === undefined || signature === undefined) return undefined;
  const origin = logOrigin(entry.chain);
  try {
    return `${treeHeadText({ origin, size, rootHash: Buffer.from(root, 'base64') })}\n\u2014 ${origin} ${signature}\n`;
  } catch {
    return undefined;
  }
}

/** What `agentsec audit prove` prints and `GET /v1/audit/proofs/{seq}` answers: one entry, its path, the head it is under. */
export const inclusionProofSchema = z
  .object({
    entry: z.record(z.string(), z.unknown()),
    leafIndex: z.int().min(0),
    treeSize: z.int().min(1),
    /** The audit path, base64 hashes, leaf to root (RFC 9162 §2.1.3). */
    proof: z.array(z.base64()),
    /** The signed tree head (C2SP checkpoint) the proof leads to. */
    checkpoint: z.string(),
    /** The authority's verifier key for this chain, for convenience: pin it from an independent source. */
    verifierKey: z.string(),
  })
  .strict();

export type InclusionProof = z.output<typeof inclusionProofSchema>;

/** The inclusion proof of entry `seq` under the tree head `note` (over the first `treeSize` entries). */
export function proveInclusion(entries: readonly LedgerEntry[], seq: number, treeSize: number, note: string, verifierKey: string): InclusionProof {
  const leaves = entries.slice(0, treeSize).map(entryLeaf);
  return {
    entry: entries[seq - 1] as unknown as Record<string, unknown>,
    leafIndex: seq - 1,
    treeSize,
    proof: inclusionProof(seq - 1, leaves).map((h) => h.toString('base64')),
    checkpoint: note,
    verifierKey,
  };
}

/** The result of checking a proof offline. */
export type ProofCheck = { ok: true; seq: number; treeSize: number; origin: string } | { ok: false; reason: string };

/**
 * Checks an inclusion proof with only the verifier key (no AWS, no ledger): the head's signature, the entry's place
 * (its seq is its leaf index + 1) and the path from its leaf hash to the signed root.
 */
export function checkInclusion(input: unknown, verifierKey: string): ProofCheck {
  const parsed = inclusionProofSchema.safeParse(input);
  if (!parsed.success) return { ok: false, reason: 'not an inclusion proof' };
  const p = parsed.data;
  let head: TreeHead;
  try {
    head = openTreeHead(p.checkpoint, verifierKey);
  } catch (err) {
    if (isSecurityError(err, 'TAMPERED')) return { ok: false, reason: err.message };
    return { ok: false, reason: (err as Error).message };
  }
  const entry = p.entry as unknown as LedgerEntry;
  if (head.origin !== logOrigin(String(entry.chain))) return { ok: false, reason: `the tree head is of ${head.origin}, not of chain ${String(entry.chain)}` };
  if (head.size !== p.treeSize) return { ok: false, reason: `the proof is for a tree of ${p.treeSize} entries, the head covers ${head.size}` };
  if (entry.seq !== p.leafIndex + 1) return { ok: false, reason: `entry seq ${String(entry.seq)} is not leaf ${p.leafIndex}` };
  let leaf: Buffer;
  try {
    leaf = entryLeaf(entry);
  } catch (err) {
    if (!(err instanceof SecurityError)) throw err;
    return { ok: false, reason: 'the entry has no canonical form' };
  }
  const proof = p.proof.map((h) => Buffer.from(h, 'base64'));
  if (!verifyInclusion(p.leafIndex, head.size, leaf, proof, head.rootHash)) {
    return { ok: false, reason: `entry seq ${entry.seq} is not in the signed tree of ${head.size} entries` };
  }
  return { ok: true, seq: entry.seq, treeSize: head.size, origin: head.origin };
}

/** What `agentsec audit prove-consistency` prints and `GET /v1/audit/consistency` answers: two signed heads and the proof the log only grew between them. */
export const consistencyProofSchema = z
  .object({
    /** The earlier signed tree head (C2SP checkpoint). */
    from: z.string(),
    /** The later one. */
    to: z.string(),
    /** RFC 9162 §2.1.4 consistency proof from the first tree to the second, base64 hashes. */
    proof: z.array(z.base64()),
    verifierKey: z.string(),
  })
  .strict();

export type ConsistencyProof = z.output<typeof consistencyProofSchema>;

/** The consistency proof between two signed heads over `entries` (the earlier of `fromSize` entries). */
export function proveConsistency(entries: readonly LedgerEntry[], fromSize: number, from: string, toSize: number, to: string, verifierKey: string): ConsistencyProof {
  const leaves = entries.slice(0, toSize).map(entryLeaf);
  return { from, to, proof: consistencyProof(fromSize, leaves).map((h) => h.toString('base64')), verifierKey };
}

export type ConsistencyCheck = { ok: true; origin: string; fromSize: number; toSize: number } | { ok: false; reason: string };

/**
 * Checks offline, with only the verifier key, that the later signed head extends the earlier one (a witness's check):
 * both signed by the log's key, of the same log, and the proof leads from the first root to the second. A fork or a
 * rollback between two signed heads fails here.
 */
export function checkConsistency(input: unknown, verifierKey: string): ConsistencyCheck {
  const parsed = consistencyProofSchema.safeParse(input);
  if (!parsed.success) return { ok: false, reason: 'not a consistency proof' };
  const p = parsed.data;
  let from: TreeHead;
  let to: TreeHead;
  try {
    from = openTreeHead(p.from, verifierKey);
    to = openTreeHead(p.to, verifierKey);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (from.origin !== to.origin) return { ok: false, reason: `the heads are of two logs: ${from.origin} and ${to.origin}` };
  if (to.size < from.size) return { ok: false, reason: `the later head has ${to.size} entries, fewer than the earlier one's ${from.size}: a rollback` };
  const proof = p.proof.map((h) => Buffer.from(h, 'base64'));
  if (!verifyConsistency(from.size, to.size, proof, from.rootHash, to.rootHash)) {
    return { ok: false, reason: `the tree of ${to.size} entries does not extend the signed tree of ${from.size}: the log was rewritten between them` };
  }
  return { ok: true, origin: to.origin, fromSize: from.size, toSize: to.size };
}
