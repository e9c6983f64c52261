import type { CheckpointAnchor, CheckpointAnchors } from './checkpoint-anchor';
import { CheckpointSignatures, checkpointOf } from './checkpoints';
import { isSecurityError } from '../errors';
import { LedgerEntry } from './entry';
import { LedgerReader } from './ledger';
import { ChainVerification, verifyChain } from './verify-chain';
import { entryLeaf, treeHeadNoteOf } from './log-tree';
import { rootOf } from './merkle';
import { openTreeHead } from './tree-head';

/**
 * The audit's verdict: the chain's, and the latest signed tree head that verified (its size, root and time), so a
 * reader sees how much of the ledger a signature vouches for (`entries - treeSize` are not yet vouched for).
 */
export interface AuditVerification extends ChainVerification {
  /** Entries the latest verified tree head covers; 0 before the first. */
  treeSize: number;
  /** Its RFC 9162 root, base64; null before the first. */
  rootHash: string | null;
  /** When it was recorded (ISO-8601); null before the first. */
  latestHeadAt: string | null;
}

/** Where the audit comes from: one chain, its anchor, and the authority's public key. */
export interface AuditSources {
  readonly reader: Pick<LedgerReader, 'readAll' | 'chain'>;
  readonly anchors: Pick<CheckpointAnchors, 'load'>;
  readonly signatures: CheckpointSignatures;
}

interface Failure {
  readonly seq: number;
  readonly reason: string;
}

/**
 * Verifies the audit (DESIGN §7): every hash and link of the chain, every checkpoint's signature and covered
 * hash, and the chain against its anchor, so a truncated tail, checkpoints included, is named too. The result is
 * what `GET /v1/audit/verify` and `agentsec audit verify --json` report.
 *
 * @example
 * const signatures = await CheckpointSignatures.forAuthority(kms, authorityKeyArn);
 * const result = await verifyAudit({ reader, anchors: new CheckpointAnchors({ doc, tableName }), signatures });
 */
export async function verifyAudit(sources: AuditSources): Promise<AuditVerification> {
  const { reader, anchors, signatures } = sources;
  // The anchor first: the chain only grows, so a chain read after it holds every entry the anchor names.
  let anchor: CheckpointAnchor | undefined | 'malformed';
  try {
    anchor = await anchors.load();
  } catch (err) {
    if (!isSecurityError(err, 'TAMPERED')) throw err;
    anchor = 'malformed';
  }
  const entries = await reader.readAll();
  const chain = verifyChain(entries, { verifyCheckpoint: signatures.verifyCheckpoint });
  const intact = chain.ok ? entries.length : (chain.firstBadSeq as number) - 1;
  const heads = treeHeads(entries.slice(0, intact), reader.chain, signatures);
  const failure = earliest(
    earliest(chain.ok ? undefined : { seq: chain.firstBadSeq as number, reason: chain.reason ?? 'the chain does not verify' }, heads.failure),
    anchorFailure(anchor, entries, intact, reader.chain, signatures),
  );
  const tree = { treeSize: heads.latest?.size ?? 0, rootHash: heads.latest?.root ?? null, latestHeadAt: heads.latest?.at ?? null };
  if (!failure) return { ...chain, ...tree };
  return { ok: false, entries: entries.length, checkpoints: chain.checkpoints, firstBadSeq: failure.seq, reason: failure.reason, ...tree };
}

/**
 * Checks every signed tree head recorded in the (verified) `entries`: signed by the authority as the chain's log,
 * over as many entries as the checkpoint covers, with the root those entries hash to. A head that fails is named by
 * the checkpoint entry that carries it. Checkpoints recorded without a tree head are counted by the chain alone.
 */
function treeHeads(
  entries: readonly LedgerEntry[],
  chain: string,
  signatures: CheckpointSignatures,
): { count: number; latest?: { size: number; root: string; at: string }; failure?: Failure } {
  const vkey = signatures.verifierKey(chain);
  // Each leaf is hashed once, however many heads cover it.
  const leaves = entries.map(entryLeaf);
  let count = 0;
  let latest: { size: number; root: string; at: string } | undefined;
  for (const entry of entries) {
    if (entry.type !== 'checkpoint') continue;
    const note = treeHeadNoteOf(entry);
    if (note === undefined) {
      if (entry.digests?.treeRoot !== undefined || entry.digests?.treeSignature !== undefined || entry.detail?.treeSize !== undefined) {
        return { count, latest, failure: { seq: entry.seq, reason: `checkpoint ${entry.seq} carries a malformed tree head` } };
      }
      continue;
    }
    let size: number;
    let root: Buffer;
    try {
      ({ size, rootHash: root } = openTreeHead(note, vkey));
    } catch (err) {
      if (!isSecurityError(err, 'TAMPERED')) throw err;
      return { count, latest, failure: { seq: entry.seq, reason: `checkpoint ${entry.seq}: ${err.message}` } };
    }
    if (size !== entry.detail?.seq || size >= entry.seq || !rootOf(leaves.slice(0, size)).equals(root)) {
      return { count, latest, failure: { seq: entry.seq, reason: `checkpoint ${entry.seq}: the signed tree head does not match the first ${size} entries` } };
    }
    count++;
    latest = { size, root: root.toString('base64'), at: entry.at };
  }
  return { count, latest };
}

/**
 * What the anchor says is wrong with the chain, judged on its verified prefix `entries[0..intact)`.
 * Missing entries are named from the first one gone; rewritten ones from the first seq no signature vouches for.
 */
function anchorFailure(
  anchor: CheckpointAnchor | undefined | 'malformed',
  entries: readonly LedgerEntry[],
  intact: number,
  chain: string,
  signatures: CheckpointSignatures,
): Failure | undefined {
  const firstMissing = entries.length + 1;
  if (anchor === undefined) {
    // The anchor is written after each checkpoint entry: checkpoints without it mean it was removed.
    const checkpointed = entries.slice(0, intact).some((e) => e.type === 'checkpoint');
    return checkpointed ? { seq: firstMissing, reason: 'the checkpoint anchor is missing: truncation of the chain cannot be ruled out' } : undefined;
  }
  if (anchor === 'malformed' || anchor.checkpoint.chain !== chain || !signatures.verifies(anchor.checkpoint)) {
    return { seq: firstMissing, reason: 'the checkpoint anchor is not signed by the authority: truncation of the chain cannot be ruled out' };
  }
  const { checkpoint, entrySeq } = anchor;
  if (entries.length < entrySeq) {
    return { seq: firstMissing, reason: `truncated: the chain ends at seq ${entries.length}, the anchored checkpoint is seq ${entrySeq}` };
  }
  // Past the chain's own first failure nothing is proven; that failure comes first.
  if (entrySeq > intact) return undefined;
  const carrier = checkpointOf(entries[entrySeq - 1]);
  if (entries[checkpoint.seq - 1].hash !== checkpoint.hash || carrier?.signature !== checkpoint.signature) {
    const vouched = vouchedUpTo(entries.slice(0, intact));
    return { seq: vouched + 1, reason: `the chain does not match its anchored checkpoint over seq ${checkpoint.seq}: rewritten after seq ${vouched}` };
  }
  return undefined;
}

/** The last seq a verified checkpoint in `entries` covers (0 for none): the chain is as signed up to there. */
function vouchedUpTo(entries: readonly LedgerEntry[]): number {
  let vouched = 0;
  for (const entry of entries) if (entry.type === 'checkpoint') vouched = Math.max(vouched, checkpointOf(entry)?.seq ?? 0);
  return vouched;
}

function earliest(a: Failure | undefined, b: Failure | undefined): Failure | undefined {
  if (!a || !b) return a ?? b;
  return b.seq < a.seq ? b : a;
}
