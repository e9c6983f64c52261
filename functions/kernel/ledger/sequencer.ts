import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { ChainHead, LedgerEntry, LedgerEntryInput, linkEntry, parseLedgerEntryInput } from './entry';
import { LedgerLocation, LedgerReader, putOnce } from './ledger';
import { mayRecordAs, pendingWriterOf } from './pending';
import { ReasonCode, SecurityError } from '../errors';
import { TABLES } from '../tables';

/**
 * The sequencer (DESIGN §7): the one writer of the sealed log. It reads the ledger table's stream in order,
 * seals every pending entry into the chain (next sequence number, linked, hashed: the leaves of the Merkle tree
 * the signer signs), refuses entries whose writer named an actor it may not record as, and ledgers any change
 * or deletion of a pending entry as tampering. Sealing is exactly once: a stream batch is delivered again only
 * when its invocation failed, and a sequencer that failed (or starts cold) first reads the tail of the log back,
 * so what a batch sealed before it failed is recognized by its source and not sealed twice.
 */

const CHAIN = TABLES.ledger.partitionKey;
const SEQ = TABLES.ledger.sortKey.name;

/** One change of the ledger table, as its stream carries it (images unmarshalled). */
export interface LedgerChange {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** The stream record's sequence number: unique and stable, whichever delivery carries it. */
  readonly sequenceNumber: string;
  readonly keys: { readonly chain: string; readonly seq: number };
  readonly newImage?: Record<string, unknown>;
  readonly oldImage?: Record<string, unknown>;
  /** When DynamoDB wrote the change (the stream's `ApproximateCreationDateTime`), epoch ms: set by AWS, not the writer. */
  readonly writtenAt?: number;
}

/** How far a pending entry's own `at` may stray from when DynamoDB wrote it: clock skew, never a backdated entry. */
export const MAX_CLOCK_SKEW_MS = 60_000;

/** What one call of `sequence` did. */
export interface SequenceOutcome {
  /** Pending entries sealed into the log. */
  sealed: number;
  /** Pending entries refused (sealed as `ledger.refused`). */
  refused: number;
  /** Changes or deletions of pending entries (sealed as `ledger.tampered`). */
  tampered: number;
  /** Changes already sealed by an earlier delivery, and changes outside the pending partitions. */
  skipped: number;
  /** The entries this call wrote, in order (sealed, refused and tampered alike): what operators count. */
  entries: LedgerEntry[];
  /** The head of the log after the batch. */
  head?: ChainHead;
}

export interface SequencerProps extends LedgerLocation {
  /** The name the sequencer records its own entries under. */
  readonly actor: string;
  /** The signer's name: the one writer that may record an approver's `approval.recorded`. */
  readonly signer: string;
  /** Seals attempted per entry before the batch fails (and is delivered again): a lost race is a checkpoint written meanwhile. */
  readonly maxAttempts?: number;
}

/** How many recently sealed sources a warm sequencer remembers (a redelivered batch is at most one batch). */
const REMEMBERED = 10_000;

const digestOf = (image: Record<string, unknown> | undefined): string | undefined =>
  image === undefined ? undefined : createHash('sha256').update(canonicalize(image) ?? '').digest('hex');

/** The fields a writer chose, without the pending item's key and time. */
function inputOf(image: Record<string, unknown>): unknown {
  const { [CHAIN]: _chain, [SEQ]: _seq, at: _at, ...input } = image;
  return input;
}

/** What a sealed entry was made from: its pending item, or the stream record of a change it reports. */
function sourceOf(entry: LedgerEntry): string | undefined {
  if (entry.pending !== undefined) return entry.pending;
  const record = entry.type === 'ledger.tampered' ? entry.detail?.streamRecord : undefined;
  return typeof record === 'string' ? `stream/${record}` : undefined;
}

/** What to seal for one change, and what it was made from. */
interface Seal {
  readonly input: LedgerEntryInput;
  readonly at: Date;
  readonly pending?: string;
  readonly source: string;
  readonly kind: 'sealed' | 'refused' | 'tampered';
}

/**
 * @example
 * const sequencer = new Sequencer({ doc, tableName, actor: 'sequencer', signer: 'signer' });
 * const outcome = await sequencer.sequence(changesOf(streamEvent));
 */
export class Sequencer {
  private readonly reader: LedgerReader;
  private readonly chain: string;
  private readonly maxAttempts: number;
  /** The head this sequencer last wrote or read; a conditional write refutes it when someone else appended. */
  private head: ChainHead | undefined | null = null;
  /** Sources of entries sealed recently (oldest first); valid only while `warm`. */
  private readonly recent = new Set<string>();
  /** False when cold or after a failure: the tail of the log is read back before anything is sealed. */
  private warm = false;

  constructor(private readonly props: SequencerProps) {
    this.reader = new LedgerReader(props);
    this.chain = this.reader.chain;
    this.maxAttempts = props.maxAttempts ?? 20;
  }

  /** Seals the changes in order. Throws (so the batch is delivered again) only on a fault: nothing is sealed twice. */
  async sequence(changes: readonly LedgerChange[]): Promise<SequenceOutcome> {
    const outcome: SequenceOutcome = { sealed: 0, refused: 0, tampered: 0, skipped: 0, entries: [] };
    try {
      if (!this.warm) await this.recall(changes.length);
      for (const change of changes) {
        const seal = this.sealFor(change);
        if (!seal || this.recent.has(seal.source)) {
          outcome.skipped += 1;
          continue;
        }
        outcome.entries.push(await this.write(seal));
        outcome[seal.kind] += 1;
      }
    } catch (err) {
      // A write whose answer was lost may have landed: read the tail back before the batch comes again.
      this.warm = false;
      throw err;
    }
    if (this.head) outcome.head = this.head;
    return outcome;
  }

  /**
   * Remembers what the log's tail was sealed from, and its head: enough to recognize all of a batch delivered
   * again (at most `batch` entries, interleaved with as many checkpoints). `remember` seeds older history.
   */
  private async recall(batch: number): Promise<void> {
    const tail = await this.reader.tail(2 * batch + 16);
    this.remember(tail);
    this.head = tail.length > 0 ? { seq: tail[tail.length - 1].seq, hash: tail[tail.length - 1].hash } : undefined;
    this.warm = true;
  }

  /** Marks entries already in the log as sealed (a local cloud replaying a stream from its start seeds the whole log). */
  remember(entries: readonly LedgerEntry[]): void {
    for (const entry of entries) {
      const source = sourceOf(entry);
      if (source === undefined) continue;
      this.recent.delete(source);
      this.recent.add(source);
    }
    for (const oldest of this.recent) {
      if (this.recent.size <= REMEMBERED) break;
      this.recent.delete(oldest);
    }
  }

  /** What a change becomes in the log; undefined for changes outside the pending partitions. */
  private sealFor(change: LedgerChange): Seal | undefined {
    const writer = pendingWriterOf(change.keys.chain);
    if (writer === undefined) return undefined;
    const pending = `${change.keys.chain}/${change.keys.seq}`;
    if (change.eventName !== 'INSERT') {
      const before = digestOf(change.oldImage);
      const after = digestOf(change.newImage);
      return {
        kind: 'tampered',
        at: new Date(),
        source: `stream/${change.sequenceNumber}`,
        input: {
          type: 'ledger.tampered',
          actor: this.props.actor,
          reason: 'TAMPERED',
          digests: { ...(before && { before }), ...(after && { after }) },
          detail: { writer, pendingId: change.keys.seq, change: change.eventName, streamRecord: change.sequenceNumber },
        },
      };
    }
    const image = change.newImage ?? {};
    const at = new Date(typeof image.at === 'string' ? image.at : Number.NaN);
    const refusal = (reason: ReasonCode, claimed?: string): Seal => ({
      kind: 'refused',
      at: new Date(),
      pending,
      source: pending,
      input: {
        type: 'ledger.refused',
        actor: this.props.actor,
        reason,
        digests: { pending: digestOf(image) as string },
        detail: { writer, pendingId: change.keys.seq, ...(claimed !== undefined && { claimedActor: claimed }) },
      },
    });
    let input: LedgerEntryInput;
    try {
      input = parseLedgerEntryInput(inputOf(image));
    } catch {
      return refusal('SCHEMA');
    }
    if (Number.isNaN(at.getTime())) return refusal('SCHEMA');
    // The time is the writer's claim; the stream says when it was written, and a claim far from that is refused.
    if (change.writtenAt !== undefined && Math.abs(at.getTime() - change.writtenAt) > MAX_CLOCK_SKEW_MS) return refusal('SCHEMA');
    // The partition authenticates the writer (IAM LeadingKeys); the actor it names is only a claim.
    if (!mayRecordAs(writer, input, this.props.signer)) return refusal('IMPERSONATION', input.actor);
    return { kind: 'sealed', input, at, pending, source: pending };
  }

  /** Appends the seal's entry as the next of the chain; a lost race (a checkpoint written meanwhile) reads the head again. */
  private async write(seal: Seal): Promise<LedgerEntry> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (this.head === null) this.head = (await this.reader.head()) ?? undefined;
      const entry: LedgerEntry = linkEntry(this.head, seal.input, { chain: this.chain, at: seal.at, ...(seal.pending && { pending: seal.pending }) });
      if (await putOnce(this.props, entry)) {
        this.head = { seq: entry.seq, hash: entry.hash };
        this.remember([entry]);
        return entry;
      }
      this.head = null;
    }
    throw new SecurityError('CHAIN_BROKEN', `sequencer: could not append to chain ${this.chain} in ${this.maxAttempts} attempts`);
  }
}
