import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetRecordsCommandOutput,
  GetShardIteratorCommand,
  _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent } from 'aws-lambda';

/** A function subscribed to a table's stream, as Lambda calls it: a batch fails as a whole and is delivered again. */
export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<unknown>;

export interface DynamoDbStreamSourceProps {
  readonly streams: DynamoDBStreamsClient;
  /** The table's `LatestStreamArn`. */
  readonly streamArn: string;
  readonly handler: StreamHandler;
  /** Records per invocation. @default 100 */
  readonly batchSize?: number;
  /** Wait between polls that found nothing. @default 100 */
  readonly idlePollMs?: number;
  /** Longest a batch that is not full waits for more records (Lambda's `MaximumBatchingWindowInSeconds`). @default 0 */
  readonly batchingWindowMs?: number;
  /** The function's timeout: an invocation still running then has failed, and its batch comes again. @default 60000 */
  readonly timeoutMs?: number;
  /** Where failures are reported. @default console */
  readonly logger?: Pick<Console, 'error' | 'warn'>;
}

/** Counts since start, for operators, tests and the benchmark. */
export interface StreamSourceCounters {
  records: number;
  invocations: number;
  failedInvocations: number;
  pollErrors: number;
}

const RETRY_MS = 200;
const RETRY_MAX_MS = 5_000;

/**
 * A DynamoDB stream event source on one machine, with Lambda's semantics for streams: each shard read in order
 * from its oldest record, one batch at a time, and a batch whose invocation throws delivered again (the same
 * records, never skipped) until it succeeds. One invocation at a time over all shards: the sequencer's reserved
 * concurrency of 1.
 *
 * @example
 * const source = new DynamoDbStreamSource({ streams, streamArn, handler });
 * await source.start();
 * await source.settled(); // every record written so far has been handled
 */
export class DynamoDbStreamSource {
  readonly counters: StreamSourceCounters = { records: 0, invocations: 0, failedInvocations: 0, pollErrors: 0 };
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  /** Resolvers of `settled()` calls, each with the time it was called. */
  private waiters: { since: number; resolve: () => void }[] = [];
  private readonly logger: Pick<Console, 'error' | 'warn'>;

  constructor(private readonly props: DynamoDbStreamSourceProps) {
    this.logger = props.logger ?? console;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const iterators = await this.shardIterators();
    this.running = true;
    this.loop = this.run(iterators);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /**
   * Resolves once every record written before the call has been handled: a full pass over the shards that began
   * after the call found nothing new. Rejects after `timeoutMs`.
   */
  settled(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = { since: Date.now(), resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`the ledger stream did not settle within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
      this.wake?.();
    });
  }

  private async shardIterators(): Promise<Map<string, string>> {
    const iterators = new Map<string, string>();
    const described = await this.props.streams.send(new DescribeStreamCommand({ StreamArn: this.props.streamArn }));
    for (const shard of described.StreamDescription?.Shards ?? []) {
      const out = await this.props.streams.send(
        new GetShardIteratorCommand({ StreamArn: this.props.streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      if (out.ShardIterator && shard.ShardId) iterators.set(shard.ShardId, out.ShardIterator);
    }
    return iterators;
  }

  private async run(iterators: Map<string, string>): Promise<void> {
    let failures = 0;
    while (this.running) {
      const passStarted = Date.now();
      let found = 0;
      try {
        for (const [shard, iterator] of iterators) {
          found += await this.drain(shard, iterator, iterators);
          if (!this.running) return;
        }
        failures = 0;
      } catch (err) {
        failures += 1;
        found = 1; // not settled
        this.report(err, failures);
        await this.pause(Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** Math.min(failures - 1, 10)));
        continue;
      }
      if (found === 0) {
        for (const w of this.waiters.filter((x) => x.since <= passStarted)) w.resolve();
        this.waiters = this.waiters.filter((x) => x.since > passStarted);
        await this.pause(this.waiters.length > 0 ? 0 : (this.props.idlePollMs ?? 100));
      }
    }
  }

  /**
   * Reads one batch of a shard and hands it to the handler; moves the iterator only after the handler succeeded. A
   * batch that is not full waits for more records up to the batching window after its first read, as Lambda does,
   * unless someone waits for the stream to settle.
   */
  private async drain(shard: string, iterator: string, iterators: Map<string, string>): Promise<number> {
    const limit = this.props.batchSize ?? 100;
    const windowMs = this.props.batchingWindowMs ?? 0;
    const started = Date.now();
    const records: StreamRecord[] = [];
    let next: string | undefined = iterator;
    for (;;) {
      const out: GetRecordsCommandOutput = await this.props.streams.send(new GetRecordsCommand({ ShardIterator: next, Limit: limit - records.length }));
      records.push(...(out.Records ?? []));
      next = out.NextShardIterator;
      const waited = Date.now() - started;
      if (records.length === 0 || records.length >= limit || !next || !this.running || this.waiters.length > 0 || waited >= windowMs) break;
      await this.pause(Math.min(this.props.idlePollMs ?? 100, windowMs - waited));
    }
    if (records.length > 0) await this.invoke(records);
    if (next) iterators.set(shard, next);
    else iterators.delete(shard);
    return records.length;
  }

  private async invoke(records: StreamRecord[]): Promise<void> {
    this.counters.invocations += 1;
    const timeoutMs = this.props.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the invocation timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const event = { Records: records.map((r) => ({ ...r, eventSourceARN: this.props.streamArn })) as DynamoDBStreamEvent['Records'] };
      await Promise.race([this.props.handler(event), timedOut]);
      this.counters.records += records.length;
    } catch (err) {
      this.counters.failedInvocations += 1;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private report(err: unknown, failures: number): void {
    this.counters.pollErrors += 1;
    // First failure, then every tenth: an outage is never silent and never a line per poll.
    if (failures !== 1 && failures % 10 !== 0) return;
    this.logger.error(`[sequencer] ledger stream: ${(err as Error).message ?? String(err)} (failed ${failures} times; retrying the same records)`);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms).unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
