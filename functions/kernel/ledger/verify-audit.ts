import type { CheckpointAnchor, CheckpointAnchors } from './checkpoint-anchor';
import { CheckpointSignatures, checkpointOf } from './checkpoints';
import { isSecurityError } from '../errors';
import { LedgerEntry } from './entry';
import { LedgerReader } from './ledger';
import { ChainVerification, verifyChain } from './verify-chain';

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
export async function verifyAudit(sources: AuditSources): Promise<ChainVerification> {
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
  const failure = earliest(
    chain.ok ? undefined : { seq: chain.firstBadSeq as number, reason: chain.reason ?? 'the chain does not verify' },
    anchorFailure(anchor, entries, intact, reader.chain, signatures),
  );
  if (!failure) return chain;
  return { ok: false, entries: entries.length, checkpoints: chain.checkpoints, firstBadSeq: failure.seq, reason: failure.reason };
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
