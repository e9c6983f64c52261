import { GENESIS_HASH, LedgerEntry, hashEntry } from './entry';

/** Outcome of verifying a chain: the shape `audit verify --json` prints (DESIGN §10). */
export interface ChainVerification {
  /** True when every entry, link and checkpoint verifies. */
  ok: boolean;
  /** Number of entries examined. */
  entries: number;
  /** Number of checkpoints whose signature verified before the first bad entry (0 without a verifier). */
  checkpoints: number;
  /** The first sequence number at which the chain is not what was appended; null when intact. */
  firstBadSeq: number | null;
  /** What is wrong at `firstBadSeq`. */
  reason?: string;
}

/**
 * What a checkpoint verifier found: `true` or `{covers}`, a valid checkpoint (vouching for every entry up to
 * `covers`; `true` means up to the entry before the checkpoint); `{rewritten}`, a checkpoint validly signed by the
 * authority over a hash the chain no longer holds at seq `rewritten` (the entries it covers were rewritten and
 * re-chained); `false`, not a valid checkpoint.
 */
export type CheckpointVerdict = boolean | { readonly covers: number } | { readonly rewritten: number };

/**
 * Checks a `checkpoint` entry's signature. `hashAt(seq)` gives the hash of any earlier entry, already proven
 * to be linked, so a checkpoint over `(seq, hash)` needs only its signature checked.
 */
export type CheckpointVerifier = (entry: LedgerEntry, hashAt: (seq: number) => string | undefined) => CheckpointVerdict;

export interface VerifyChainOptions {
  /**
   * Verifies signed checkpoints; a checkpoint it rejects (or that makes it throw) is a bad entry.
   * @default checkpoints are checked as ordinary entries only
   */
  readonly verifyCheckpoint?: CheckpointVerifier;
}

interface Failure {
  seq: number;
  reason: string;
}

const REQUIRED_TEXT = ['type', 'actor', 'chain', 'at', 'prevHash', 'hash'] as const;
const OPTIONAL_TEXT = ['commandId', 'reason', 'directiveId', 'messageId', 'pending'] as const;
const FIELDS: ReadonlySet<string> = new Set<string>([...REQUIRED_TEXT, ...OPTIONAL_TEXT, 'seq', 'digests', 'detail']);

const isText = (v: unknown) => typeof v === 'string';
const isScalar = (v: unknown) => v === null || typeof v === 'string' || typeof v === 'boolean' || Number.isFinite(v);

/** A plain object of any realm: its prototype is null or a root (so not a Set, a Uint8Array or an array). */
function isPlainRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function isRecordOf(v: unknown, isValue: (x: unknown) => boolean): boolean {
  if (!isPlainRecord(v)) return false;
  for (const key in v) if (!isValue(v[key])) return false;
  return true;
}

/**
 * Types only, not policy: enough that the canonical form is one-to-one (a DynamoDB set or binary would
 * serialize like an empty map), and old entries still verify if the input policy ever tightens. Written
 * out by hand because it runs once per entry of the whole chain.
 */
function isStoredEntry(v: unknown): v is LedgerEntry {
  if (!isPlainRecord(v)) return false;
  for (const key in v) if (!FIELDS.has(key)) return false;
  for (const field of REQUIRED_TEXT) if (!isText(v[field])) return false;
  for (const field of OPTIONAL_TEXT) if (v[field] !== undefined && !isText(v[field])) return false;
  return (
    Number.isSafeInteger(v.seq) &&
    (v.seq as number) >= 1 &&
    (v.digests === undefined || isRecordOf(v.digests, isText)) &&
    (v.detail === undefined || isRecordOf(v.detail, isScalar))
  );
}

/** An entry that is not an entry (missing, extra or mistyped fields) cannot be what the writer stored. */
function shapeFailure(entry: unknown, expectedSeq: number): Failure | undefined {
  if (isStoredEntry(entry)) return undefined;
  return { seq: expectedSeq, reason: `the entry in position ${expectedSeq} is malformed` };
}

/** Sequence numbers run 1, 2, 3, … with no gap, repeat or reordering: a deletion shows as a missing number. */
function sequenceFailure(entry: LedgerEntry, expectedSeq: number): Failure | undefined {
  if (entry.seq === expectedSeq) return undefined;
  const what = entry.seq > expectedSeq ? 'missing' : 'out of order or repeated';
  return { seq: expectedSeq, reason: `seq ${expectedSeq} ${what}: found seq ${entry.seq} in its place` };
}

/** Each entry's hash covers all its fields, so an edit of any field shows at that entry. */
function sealFailure(entry: LedgerEntry): Failure | undefined {
  if (hashEntry(entry) === entry.hash) return undefined;
  // On this rare path only: name a renumbered entry precisely instead of blaming its new position.
  if (hashEntry({ ...entry, seq: entry.seq - 1 }) === entry.hash) {
    return { seq: entry.seq - 1, reason: `seq ${entry.seq - 1} was inserted: the entry after it was appended as seq ${entry.seq - 1}` };
  }
  if (hashEntry({ ...entry, seq: entry.seq + 1 }) === entry.hash) {
    return { seq: entry.seq, reason: `seq ${entry.seq} was moved: it holds the entry appended as seq ${entry.seq + 1}` };
  }
  return { seq: entry.seq, reason: `seq ${entry.seq} was edited: its hash does not match its content` };
}

/**
 * Each entry names its predecessor's hash, so a replaced, inserted or reordered entry breaks a link. One break,
 * with the next entry still linking to this one, is the mark of a predecessor rewritten and resealed (its own hash
 * matches its new content): that predecessor is the first bad entry. This entry not linked to either way was
 * replaced itself.
 */
function linkFailure(entry: LedgerEntry, prevHash: string, next: LedgerEntry | undefined): Failure | undefined {
  if (entry.prevHash === prevHash) return undefined;
  if (entry.seq > 1 && (next === undefined || next.prevHash === entry.hash)) {
    return { seq: entry.seq - 1, reason: `seq ${entry.seq - 1} was rewritten and resealed: seq ${entry.seq} no longer links to it` };
  }
  return { seq: entry.seq, reason: `seq ${entry.seq} does not link to seq ${entry.seq - 1}: it was replaced` };
}

/**
 * A checkpoint is only as good as its signature by the authority key (DESIGN §7). One the authority signed over
 * another hash than the chain now holds shows the entries after the last vouched one were rewritten: the first
 * of them is the first bad entry. The verdict of a valid checkpoint says up to where it vouches.
 */
function checkpointFailure(
  entry: LedgerEntry,
  verify: CheckpointVerifier,
  hashAt: (seq: number) => string | undefined,
  vouchedUpTo: number,
): Failure | { covers: number } {
  let verdict: CheckpointVerdict = false;
  try {
    verdict = verify(entry, hashAt);
  } catch {
    verdict = false;
  }
  if (verdict === true) return { covers: entry.seq - 1 };
  if (verdict !== false && 'covers' in verdict) return { covers: verdict.covers };
  if (verdict !== false && 'rewritten' in verdict) {
    return {
      seq: vouchedUpTo + 1,
      reason: `seq ${vouchedUpTo + 1} to ${verdict.rewritten} were rewritten: seq ${entry.seq} is a checkpoint the authority signed over another hash of seq ${verdict.rewritten}`,
    };
  }
  return { seq: entry.seq, reason: `seq ${entry.seq} is a checkpoint whose signature does not verify` };
}

/**
 * Recomputes every hash and link of a chain, oldest first, and names the first bad sequence number: an edit
 * (hash mismatch at that seq), a deletion (the first missing seq), an insertion or reordering (a renumbered
 * entry or a broken link), or a checkpoint whose signature fails. Entries before `firstBadSeq` are intact.
 * The chain alone cannot reveal entries removed from its end: signed checkpoints bound that (DESIGN §7).
 *
 * @example
 * const result = verifyChain(await reader.readAll(), { verifyCheckpoint });
 * if (!result.ok) console.error(`ledger tampered at seq ${result.firstBadSeq}: ${result.reason}`);
 */
export function verifyChain(entries: readonly LedgerEntry[], options: VerifyChainOptions = {}): ChainVerification {
  const { verifyCheckpoint } = options;
  let verified = 0;
  let checkpoints = 0;
  let prevHash = GENESIS_HASH;
  // Only entries already proven intact are offered to checkpoint verification.
  const hashAt = (seq: number) => (Number.isInteger(seq) && seq >= 1 && seq <= verified ? entries[seq - 1].hash : undefined);

  // The last seq a verified checkpoint vouches for.
  let vouchedUpTo = 0;

  for (const [index, entry] of entries.entries()) {
    const expectedSeq = verified + 1;
    const structural =
      shapeFailure(entry, expectedSeq) ?? sequenceFailure(entry, expectedSeq) ?? sealFailure(entry) ?? linkFailure(entry, prevHash, entries[index + 1]);
    const checked =
      !structural && verifyCheckpoint && entry.type === 'checkpoint' ? checkpointFailure(entry, verifyCheckpoint, hashAt, vouchedUpTo) : undefined;
    const failure = structural ?? (checked && 'seq' in checked ? checked : undefined);
    if (failure) {
      // A rewritten predecessor that was a checkpoint no longer counts as verified.
      if (failure.seq < expectedSeq && verifyCheckpoint && entries[index - 1]?.type === 'checkpoint') checkpoints--;
      return { ok: false, entries: entries.length, checkpoints, firstBadSeq: failure.seq, reason: failure.reason };
    }
    if (checked && 'covers' in checked) {
      checkpoints++;
      vouchedUpTo = Math.max(vouchedUpTo, checked.covers);
    }
    prevHash = entry.hash;
    verified++;
  }
  return { ok: true, entries: entries.length, checkpoints, firstBadSeq: null };
}
