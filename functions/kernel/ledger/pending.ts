import { randomInt } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LedgerEntryInput, parseLedgerEntryInput } from './entry';
import { ownPartition } from '../tables';
import { putOnce } from './ledger';

/**
 * Pending entries (DESIGN §7): each writer appends to a partition of its own, `<writer>#pending`, with one
 * conditional put: no read, no race with other writers, no retry loop. IAM (`dynamodb:LeadingKeys`) lets a
 * principal write only its own pending partition, so the partition authenticates the writer; the sequencer
 * alone moves pending entries into the sealed log, in the order the table's stream delivers them.
 */

const PENDING = 'pending';

/** The pending partition of `writer`. */
export const pendingPartition = (writer: string): string => ownPartition(writer, PENDING);

/** The writer a partition is the pending partition of, or undefined for any other partition. */
export function pendingWriterOf(partition: string): string | undefined {
  const match = /^([^#]+)#pending$/.exec(partition);
  return match?.[1];
}

/**
 * Who may be named as `actor` by entries a writer records: the writer itself, and for the signer the approver of
 * an `approval.recorded` entry (the signer authenticated the human). Anything else is a forged actor.
 */
export function mayRecordAs(writer: string, entry: Pick<LedgerEntryInput, 'actor' | 'type'>, signer: string): boolean {
  return entry.actor === writer || (writer === signer && entry.type === 'approval.recorded');
}

/** Appends entries: what every principal but the sequencer holds (`LedgerWriter` writes the sealed log itself). */
export interface LedgerAppender {
  append(input: LedgerEntryInput): Promise<unknown>;
}

/** A pending entry as its writer stored it. */
export type PendingEntry = LedgerEntryInput & { chain: string; seq: number; at: string };

/** Ids a pending put tries before giving up: a collision needs two puts of one writer in the same millisecond with the same 12 random bits. */
const MAX_ID_ATTEMPTS = 5;
/** Random low bits of an id: milliseconds × 4096 stays a safe integer until the year 2255. */
const ID_RANDOM_BITS = 12;

export interface PendingLedgerWriterProps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The principal that writes (its role may write only this partition): an agent, `api`, `signer`, `effects`. */
  readonly writer: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Records entries as pending in the writer's own partition; the sequencer seals them. The id is the time in
 * milliseconds with random low bits, so ids of one writer rise with time and need no coordination.
 *
 * @example
 * const ledger = new PendingLedgerWriter({ doc, tableName: env.AGENTSEC_TABLE_LEDGER, writer: 'core' });
 * await ledger.append({ type: 'tool.denied', actor: 'core', commandId, reason: 'NOT_AUTHORIZED' });
 */
export class PendingLedgerWriter implements LedgerAppender {
  private readonly partition: string;
  private readonly now: () => Date;

  constructor(private readonly props: PendingLedgerWriterProps) {
    this.partition = pendingPartition(props.writer);
    this.now = props.now ?? (() => new Date());
  }

  /** Stores `input` as pending and returns it as stored. Refuses (SCHEMA) entries outside policy before any I/O. */
  async append(input: LedgerEntryInput): Promise<PendingEntry> {
    const body = parseLedgerEntryInput(input);
    for (let attempt = 1; attempt <= MAX_ID_ATTEMPTS; attempt++) {
      const at = this.now();
      const entry: PendingEntry = { ...body, chain: this.partition, seq: at.getTime() * 2 ** ID_RANDOM_BITS + randomInt(2 ** ID_RANDOM_BITS), at: at.toISOString() };
      if (await putOnce(this.props, entry)) return entry;
    }
    throw new Error(`ledger: ${MAX_ID_ATTEMPTS} pending ids of ${this.props.writer} were taken; nothing was written`);
  }
}
