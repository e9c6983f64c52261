import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLambdaContext, invokeHandler, LambdaHandler } from './lambda-runtime';
import { failedMessageIds } from './sqs-batch-response';
import { regionOfArn, toSqsRecord } from './sqs-record';

/** A function subscribed to a queue, as Lambda calls it. */
export type SqsHandler = LambdaHandler<SQSEvent, SQSBatchResponse | void>;

export interface SqsEventSourceProps {
  /** The SQS client (pointed at the emulator). */
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** The queue's ARN (the records' `eventSourceARN`). @default read from the queue at start */
  readonly queueArn?: string;
  /** Name the handler sees in its context. */
  readonly functionName: string;
  readonly handler: SqsHandler;
  /** Records per invocation, 1–10. @default 10 */
  readonly batchSize?: number;
  /** Batches in flight at once (Lambda's maximum concurrency for the event source). @default 2 */
  readonly maxConcurrency?: number;
  /** Visibility timeout requested on receive. @default the queue's own */
  readonly visibilityTimeoutSeconds?: number;
  /** The function timeout; at most the visibility timeout, as Lambda requires. @default the visibility timeout */
  readonly timeoutSeconds?: number;
  /** Long-polling wait, 0–20 seconds. @default 20 */
  readonly waitTimeSeconds?: number;
  /** Memory the handler's context reports. @default 512 */
  readonly memoryMiB?: number;
  /** Where failures are reported. @default console */
  readonly logger?: Pick<Console, 'error' | 'warn'>;
}

/** Counts since start, for operators and tests. Records are counted once per delivery. */
export interface SqsEventSourceCounters {
  /** Records delivered to the handler. */
  received: number;
  /** Records deleted after a successful invocation. */
  succeeded: number;
  /** Records left on the queue (reported failures, thrown or timed-out invocations, malformed responses). */
  failed: number;
  /** Handler invocations. */
  invocations: number;
  /** Failed receive calls (emulator unreachable and the like). */
  pollErrors: number;
}

/** Whether the source can reach its queue, for operators (`agentsec dev`) and tests. */
export interface SqsEventSourceHealth {
  /** False while receives fail. */
  readonly receiving: boolean;
  /** Why the last receive failed, in one line, while they fail. */
  readonly problem?: string;
  /** Failed receives since the last one that worked. */
  readonly failedPolls: number;
  /** When the receives started failing (epoch ms). */
  readonly failingSince?: number;
}

/** First retry after a failed receive; doubles up to the maximum while receives keep failing. */
const RECEIVE_RETRY_MS = 500;
const RECEIVE_RETRY_MAX_MS = 5_000;
/** While receives keep failing, the problem is repeated this often, so it is never silent. */
const OUTAGE_REMINDER_MS = 30_000;

/**
 * The Lambda SQS event source, in process (DESIGN §9): long-polls a queue, invokes the handler with batches of
 * up to `batchSize` records, runs up to `maxConcurrency` batches at once, and with `ReportBatchItemFailures`
 * semantics deletes only the records the handler did not report as failed. A thrown, timed-out or malformed
 * invocation deletes nothing; failed records reappear after the visibility timeout, and SQS's own redrive
 * policy moves a record to the dead-letter queue once its receive count reaches `maxReceiveCount`.
 *
 * @example
 * const source = new SqsEventSource({ sqs, queueUrl, functionName: 'core', handler, batchSize: 5 });
 * await source.start();
 * // ...
 * await source.stop();
 */
export class SqsEventSource {
  readonly counters: SqsEventSourceCounters = { received: 0, succeeded: 0, failed: 0, invocations: 0, pollErrors: 0 };
  private readonly props: SqsEventSourceProps;
  private readonly batchSize: number;
  private readonly maxConcurrency: number;
  private readonly waitTimeSeconds: number;
  private readonly logger: Pick<Console, 'error' | 'warn'>;
  private queueArn?: string;
  private timeoutMs = 0;
  private workers: Promise<void>[] = [];
  private abort = new AbortController();
  private running = false;
  private batchesInFlight = 0;
  private lastBatchEndedAt = 0;
  private idleWaiters: (() => void)[] = [];
  private outage?: { problem: string; since: number; failedPolls: number; remindedAt: number };

  constructor(props: SqsEventSourceProps) {
    this.props = props;
    this.batchSize = integerIn(props.batchSize ?? 10, 1, 10, 'batchSize');
    this.maxConcurrency = integerIn(props.maxConcurrency ?? 2, 1, 1000, 'maxConcurrency');
    this.waitTimeSeconds = integerIn(props.waitTimeSeconds ?? 20, 0, 20, 'waitTimeSeconds');
    this.logger = props.logger ?? console;
  }

  /** Batches currently being handled. */
  get inFlight(): number {
    return this.batchesInFlight;
  }

  get health(): SqsEventSourceHealth {
    const o = this.outage;
    return o ? { receiving: false, problem: o.problem, failedPolls: o.failedPolls, failingSince: o.since } : { receiving: true, failedPolls: 0 };
  }

  /** Resolves the queue's ARN and visibility timeout, then starts `maxConcurrency` pollers. */
  async start(): Promise<void> {
    if (this.running) return;
    const attrs = await this.props.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: this.props.queueUrl, AttributeNames: ['QueueArn', 'VisibilityTimeout'] }),
    );
    this.queueArn = this.props.queueArn ?? attrs.Attributes?.QueueArn;
    if (!this.queueArn) throw new Error(`cannot read the ARN of ${this.props.queueUrl}`);
    const visibility = this.props.visibilityTimeoutSeconds ?? Number(attrs.Attributes?.VisibilityTimeout ?? 30);
    const timeout = this.props.timeoutSeconds ?? visibility;
    // Lambda refuses a function timeout above the visibility timeout: a record would reappear mid-invocation.
    if (timeout > visibility) {
      throw new Error(`timeoutSeconds (${timeout}) must not exceed the visibility timeout (${visibility})`);
    }
    this.timeoutMs = timeout * 1000;
    this.abort = new AbortController();
    this.running = true;
    this.workers = Array.from({ length: this.maxConcurrency }, () => this.poll());
  }

  /**
   * Stops polling and waits up to `timeoutMs` for the batches in flight to finish. Returns false when some were
   * still running; their records stay on the queue and reappear after the visibility timeout.
   */
  async stop(timeoutMs = 10_000): Promise<boolean> {
    if (!this.running) return true;
    this.running = false;
    this.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.allSettled(this.workers).then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    this.resolveIdle();
    return finished;
  }

  /**
   * Resolves once no batch is in flight and a receive that started after the last batch ended found the queue
   * empty (records waiting out a visibility timeout are not visible, so they do not count).
   */
  idle(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        reject(new Error(`event source for ${this.props.functionName} not idle after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.idleWaiters.push(done);
    });
  }

  private async poll(): Promise<void> {
    while (this.running) {
      const startedAt = Date.now();
      let messages: Message[];
      try {
        messages = await this.receive();
      } catch (err) {
        if (!this.running) break;
        this.counters.pollErrors += 1;
        const failedPolls = this.receiveFailed(err);
        await delay(Math.min(RECEIVE_RETRY_MAX_MS, RECEIVE_RETRY_MS * 2 ** Math.min(failedPolls - 1, 10)), this.abort.signal);
        continue;
      }
      // A poll that returns after stop() leaves its records to reappear after the visibility timeout.
      if (!this.running) break;
      this.receiveWorked(startedAt);
      if (messages.length === 0) {
        if (this.batchesInFlight === 0 && startedAt >= this.lastBatchEndedAt) this.resolveIdle();
        continue;
      }
      await this.runBatch(messages);
    }
  }

  /**
   * Reports a failed receive: once, clearly, when an outage starts, then every 30 s while it lasts (never
   * silently, never a line per poll). Returns the failed polls so far.
   */
  private receiveFailed(err: unknown): number {
    const now = Date.now();
    const problem = describeReceiveFailure(err, this.props.queueUrl);
    const name = this.props.functionName;
    if (!this.outage) {
      this.outage = { problem, since: now, failedPolls: 1, remindedAt: now };
      this.logger.error(`[${name}] cannot receive from queue ${queueNameOf(this.props.queueUrl)}, retrying with backoff: ${problem}`);
      return 1;
    }
    const o = this.outage;
    o.failedPolls += 1;
    if (problem !== o.problem || now - o.remindedAt >= OUTAGE_REMINDER_MS) {
      o.problem = problem;
      o.remindedAt = now;
      this.logger.error(`[${name}] still cannot receive from queue ${queueNameOf(this.props.queueUrl)} after ${o.failedPolls} attempts in ${Math.round((now - o.since) / 1000)} s: ${problem}`);
    }
    return o.failedPolls;
  }

  /**
   * Ends an outage on a receive that began after it started: a long poll another worker began before the
   * outage may still come back empty and says nothing about the emulator now.
   */
  private receiveWorked(startedAt: number): void {
    if (!this.outage || startedAt < this.outage.since) return;
    const { failedPolls, since } = this.outage;
    this.outage = undefined;
    this.logger.warn(`[${this.props.functionName}] receiving from queue ${queueNameOf(this.props.queueUrl)} again after ${failedPolls} failed attempts in ${Math.round((Date.now() - since) / 1000)} s`);
  }

  private async receive(): Promise<Message[]> {
    const out = await this.props.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.props.queueUrl,
        MaxNumberOfMessages: this.batchSize,
        WaitTimeSeconds: this.waitTimeSeconds,
        ...(this.props.visibilityTimeoutSeconds !== undefined && { VisibilityTimeout: this.props.visibilityTimeoutSeconds }),
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.abort.signal },
    );
    return out.Messages ?? [];
  }

  private async runBatch(messages: Message[]): Promise<void> {
    this.batchesInFlight += 1;
    try {
      const event: SQSEvent = { Records: messages.map((m) => toSqsRecord(m, this.queueArn!)) };
      this.counters.invocations += 1;
      this.counters.received += event.Records.length;
      let failed: Set<string>;
      try {
        const context = createLambdaContext({
          functionName: this.props.functionName,
          timeoutMs: this.timeoutMs,
          region: regionOfArn(this.queueArn!),
          accountId: this.queueArn!.split(':')[4],
          memoryMiB: this.props.memoryMiB,
        });
        const response = await invokeHandler(this.props.handler, event, context, this.timeoutMs);
        failed = failedMessageIds(response, event.Records);
      } catch (err) {
        // A failed invocation acknowledges nothing: every record is retried (and eventually redriven).
        this.logger.error(`[${this.props.functionName}] invocation failed:`, err);
        failed = new Set(event.Records.map((r) => r.messageId));
      }
      this.counters.failed += failed.size;
      const succeeded = event.Records.filter((r) => !failed.has(r.messageId));
      const deleted = await this.deleteRecords(succeeded); // not `+= await`: batches run concurrently
      this.counters.succeeded += deleted;
    } finally {
      this.batchesInFlight -= 1;
      this.lastBatchEndedAt = Date.now();
    }
  }

  /** Deletes the records in chunks of 10; returns how many SQS confirmed. */
  private async deleteRecords(records: { messageId: string; receiptHandle: string }[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < records.length; i += 10) {
      const chunk = records.slice(i, i + 10);
      try {
        const out = await this.props.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.props.queueUrl,
            Entries: chunk.map((r, n) => ({ Id: String(n), ReceiptHandle: r.receiptHandle })),
          }),
        );
        deleted += out.Successful?.length ?? 0;
        for (const f of out.Failed ?? []) {
          this.logger.warn(`[${this.props.functionName}] could not delete a record (${f.Code}); it will be redelivered`);
        }
      } catch (err) {
        this.logger.warn(`[${this.props.functionName}] delete failed; records will be redelivered: ${(err as Error).message}`);
      }
    }
    return deleted;
  }

  private resolveIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** One line on why a receive failed, naming the likely cause for the failures an operator can act on. */
/** A queue's name, the last segment of its URL: an agent has two queues (its own and its failed queue). */
function queueNameOf(queueUrl: string): string {
  return queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
}

function describeReceiveFailure(err: unknown, queueUrl: string): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  const text = `${e.name ?? 'Error'}: ${(e.message ?? String(err)).split('\n')[0]}`;
  if (e.name === 'QueueDoesNotExist' || e.name === 'AWS.SimpleQueueService.NonExistentQueue' || /NonExistentQueue|does not exist/i.test(text)) {
    return `queue ${queueUrl} does not exist (${text}); if the emulator restarted, its state is gone: restart the local cloud`;
  }
  const code = e.code ?? e.cause?.code ?? /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT)\b/.exec(text)?.[1] ?? (/socket hang up/i.test(text) ? 'ECONNRESET' : undefined);
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT'].includes(code)) {
    // One problem whatever the code: a dying emulator resets connections, a dead one refuses them.
    return `nothing answers at ${new URL(queueUrl).origin} (connection refused, reset or timed out); is the AWS emulator running?`;
  }
  return text;
}

function integerIn(value: number, min: number, max: number, name: string): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer in ${min}..${max}`);
  return value;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
