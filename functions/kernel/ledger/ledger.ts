import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, QueryCommandInput, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { ChainHead, LedgerEntry, LedgerEntryInput, linkEntry, parseLedgerEntryInput } from './entry';
import { TABLES } from '../tables';
import { writeIf } from '../conditional-write';

const CHAIN = TABLES.ledger.partitionKey;
const SEQ = TABLES.ledger.sortKey.name;

/** Where a chain lives. */
export interface LedgerLocation {
  /** Client with the default unmarshalling (numbers as JS numbers). */
  readonly doc: DynamoDBDocumentClient;
  /** The ledger table (`TABLES.ledger`). */
  readonly tableName: string;
  /**
   * Name of the chain (partition) within the table.
   * @default 'main'
   */
  readonly chain?: string;
}

/**
 * Reads a chain in sequence order. What it returns is what the table holds: trust it only after `verifyChain`.
 *
 * @example
 * const reader = new LedgerReader({ doc, tableName: env.AGENTSEC_TABLE_LEDGER });
 * const newer = await reader.since(lastSeen);
 */
export class LedgerReader {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  public readonly chain: string;

  constructor(props: LedgerLocation) {
    this.doc = props.doc;
    this.tableName = props.tableName;
    this.chain = props.chain ?? 'main';
  }

  /** Every entry of the chain, oldest first. */
  readAll(): Promise<LedgerEntry[]> {
    return this.since(0);
  }

  /** The entries after `seq` (exclusive), oldest first: `since(lastSeen)` returns only what is new. */
  async since(seq: number): Promise<LedgerEntry[]> {
    const entries: LedgerEntry[] = [];
    const pages = paginateQuery({ client: this.doc }, this.query({ ScanIndexForward: true, after: seq }));
    for await (const page of pages) entries.push(...((page.Items ?? []) as LedgerEntry[]));
    return entries;
  }

  /** The newest `count` entries, oldest first: one query whatever the chain's length. */
  async tail(count: number): Promise<LedgerEntry[]> {
    const out = await this.doc.send(new QueryCommand({ ...this.query({ ScanIndexForward: false }), Limit: count }));
    return ((out.Items ?? []) as LedgerEntry[]).reverse();
  }

  /** The newest entry, or undefined for an empty chain. One strongly consistent read whatever the chain's length. */
  async head(): Promise<LedgerEntry | undefined> {
    const out = await this.doc.send(new QueryCommand({ ...this.query({ ScanIndexForward: false }), Limit: 1 }));
    return out.Items?.[0] as LedgerEntry | undefined;
  }

  private query(options: { ScanIndexForward: boolean; after?: number }): QueryCommandInput {
    const after = options.after !== undefined;
    return {
      TableName: this.tableName,
      KeyConditionExpression: after ? '#chain = :chain AND #seq > :after' : '#chain = :chain',
      ExpressionAttributeNames: { '#chain': CHAIN, ...(after ? { '#seq': SEQ } : {}) },
      ExpressionAttributeValues: { ':chain': this.chain, ...(after ? { ':after': options.after } : {}) },
      ScanIndexForward: options.ScanIndexForward,
      // Verification and appends must see every acknowledged write.
      ConsistentRead: true,
    };
  }
}

/** Options of a ledger writer. */
export interface LedgerWriterProps extends LedgerLocation {
  /**
   * Clock for the `at` field.
   * @default () => new Date()
   */
  readonly now?: () => Date;
  /**
   * Appends tried before giving up under contention: with the jittered backoff, roughly ten seconds of losing.
   * @default 100
   */
  readonly maxAttempts?: number;
  /**
   * Longest an append waits for this writer's previous one, should that one never return (its caller died).
   * @default 5000
   */
  readonly queueWaitMs?: number;
}

/** Raised when an append lost the race for the next sequence number `maxAttempts` times. Nothing was written. */
export class LedgerContentionError extends Error {
  constructor(chain: string, attempts: number) {
    super(`ledger chain ${chain}: append lost the race for the next sequence number ${attempts} times; nothing was written`);
    this.name = 'LedgerContentionError';
  }
}

const BACKOFF_BASE_MS = 5;
const BACKOFF_CAP_MS = 250;

/**
 * Appends entries to one chain. Sequence numbers are claimed with a conditional put, so concurrent writers in
 * any number of processes produce one gap-free chain (DESIGN §7). A writer appends one entry at a time (the
 * records of one batch would otherwise race each other for the same number). An append costs one put while
 * this writer keeps writing the head itself, and a query plus a put when others write between its appends:
 * after a put finds its remembered head stale, the writer reads the head first until a read shows the
 * remembered head was current after all. Never a scan, whatever the chain's length.
 *
 * @example
 * const ledger = new LedgerWriter({ doc, tableName: env.AGENTSEC_TABLE_LEDGER });
 * await ledger.append({ type: 'tool.denied', actor: 'core', commandId, reason: 'NOT_AUTHORIZED' });
 */
export class LedgerWriter {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly reader: LedgerReader;
  private readonly now: () => Date;
  private readonly maxAttempts: number;
  private readonly queueWaitMs: number;
  /** The head this writer last wrote; a guess that the conditional put confirms or refutes. */
  private headHint: ChainHead | undefined;
  /** False once a put found the hint stale: others write between this writer's appends, so read the head first. */
  private hintTrusted = true;
  /** The append in progress, which the next one waits for. */
  private previous: Promise<unknown> = Promise.resolve();

  constructor(props: LedgerWriterProps) {
    this.doc = props.doc;
    this.tableName = props.tableName;
    this.reader = new LedgerReader(props);
    this.now = props.now ?? (() => new Date());
    this.maxAttempts = props.maxAttempts ?? 100;
    this.queueWaitMs = props.queueWaitMs ?? 5_000;
  }

  get chain(): string {
    return this.reader.chain;
  }

  /** Records `input` as the next entry of the chain and returns it as stored. Refuses (SCHEMA) entries outside policy. */
  append(input: LedgerEntryInput): Promise<LedgerEntry> {
    // Refuse before any I/O: a refused entry costs nothing and claims no sequence number.
    let body: LedgerEntryInput;
    try {
      body = parseLedgerEntryInput(input);
    } catch (err) {
      return Promise.reject(err);
    }
    const turn = Promise.race([this.previous, sleep(this.queueWaitMs, undefined, { ref: false })]);
    const run = turn.then(() => this.appendNow(body));
    this.previous = run.catch(() => undefined);
    return run;
  }

  private async appendNow(body: LedgerEntryInput): Promise<LedgerEntry> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const hinted = this.hintTrusted ? this.headHint : undefined;
      const head = hinted ?? (await this.reader.head());
      // Had the remembered head been current, a put could have skipped that read: trust it again next time.
      if (!hinted && this.headHint) this.hintTrusted = head?.seq === this.headHint.seq && head.hash === this.headHint.hash;
      const entry = linkEntry(head, body, { chain: this.chain, at: this.now() });
      if (await this.claim(entry)) {
        this.headHint = { seq: entry.seq, hash: entry.hash };
        return entry;
      }
      this.headHint = undefined;
      if (hinted) {
        // A stale hint only means someone wrote since: ask for the head at once, and first from now on.
        this.hintTrusted = false;
      } else {
        // A lost race backs off with full jitter.
        await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
      }
    }
    throw new LedgerContentionError(this.chain, this.maxAttempts);
  }

  /** Writes `entry` unless its sequence number is taken; false when another writer got there first. */
  private claim(entry: LedgerEntry): Promise<boolean> {
    return putOnce({ doc: this.doc, tableName: this.tableName }, entry);
  }
}

/**
 * Puts a ledger item (a sealed or a pending entry) unless its key is taken: false when it is. Append-only: a key is
 * written once, never overwritten (DESIGN §7).
 */
export function putOnce(table: { readonly doc: DynamoDBDocumentClient; readonly tableName: string }, item: { readonly chain: string; readonly seq: number }): Promise<boolean> {
  return writeIf(() =>
    table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#seq)',
        ExpressionAttributeNames: { '#seq': SEQ },
      }),
    ),
  );
}
