import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { tableName } from '../kernel/environment';
import { isSecurityError } from '../kernel/errors';
import type { AgentContext } from './context';

export type RecordHandler = (ctx: AgentContext, record: SQSRecord) => Promise<void>;

/** Called when a record failed on its last delivery: tell whoever waits on it that its work will not be done. */
export type GiveUpHandler = (ctx: AgentContext, record: SQSRecord) => Promise<void>;

/** True on the last delivery SQS makes before its redrive policy moves the message to the dead-letter queue. */
function isLastAttempt(ctx: AgentContext, record: SQSRecord): boolean {
  return Number(record.attributes?.ApproximateReceiveCount ?? 1) >= ctx.topology.runtime.maxReceiveCount;
}

/** The last delivery ran out of the function's time: it is given up before Lambda ends the invocation. */
export class DeadlineError extends Error {
  constructor(ms: number) {
    super(`the last delivery of this message did not finish within ${ms} ms, before the function's timeout`);
    this.name = 'DeadlineError';
  }
}

/**
 * `work`, or a DeadlineError shortly before the invocation's time runs out: the time left after it is kept to
 * ledger and report the failure, which a timed-out invocation never could.
 */
function beforeDeadline<T>(work: Promise<T>, context: Context): Promise<T> {
  const remaining = context.getRemainingTimeInMillis();
  const budget = remaining - Math.min(10_000, Math.floor(remaining / 4));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new DeadlineError(budget)), budget)));
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** The best-effort command id of an unverified body, for the ledger entry of its rejection. */
function claimedIds(body: string): { commandId?: string; messageId?: string } {
  try {
    const parsed = JSON.parse(body) as { commandId?: unknown; id?: unknown };
    const id = (v: unknown) => (typeof v === 'string' && /^[0-9a-f-]{36}$/i.test(v) ? v : undefined);
    return { commandId: id(parsed.commandId), messageId: id(parsed.id) };
  } catch {
    return {};
  }
}

/**
 * The SQS handler of an agent: partial batch responses (Powertools), idempotency on the SQS message id, and
 * the rejection rule of DESIGN §4 — a message refused for a security reason is ledgered and moved to the
 * dead-letter queue at once, never retried; any other failure is retried by SQS and redriven after
 * maxReceiveCount. A failure on the last delivery — a fault, a record still in progress elsewhere, or the
 * function running out of time — is ledgered before SQS redrives the message (every dead letter has its ledger
 * entry) and `giveUp` reports it, so the command it served still ends.
 */
export function agentBatchHandler(ctx: AgentContext, handleRecord: RecordHandler, logger: Logger, giveUp?: GiveUpHandler) {
  const idempotency = new IdempotencyConfig({ eventKeyJmesPath: 'messageId', expiresAfterSeconds: 24 * 3600 });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: tableName(ctx.env, 'idempotency'),
    awsSdkV3Client: ctx.doc as never,
  });

  const guarded = async (record: SQSRecord): Promise<void> => {
    try {
      await handleRecord(ctx, record);
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      logger.warn('message rejected', { reason: err.reason, error: err.message, sqsMessageId: record.messageId });
      await ctx.ledger.append({
        type: 'message.rejected',
        actor: ctx.self.name,
        reason: err.reason,
        ...claimedIds(record.body),
        detail: { sqsMessageId: record.messageId },
      });
      if (!ctx.env.AGENTSEC_DLQ_URL) throw err;
      await ctx.sqs.send(
        new SendMessageCommand({
          QueueUrl: ctx.env.AGENTSEC_DLQ_URL,
          MessageBody: record.body,
          // The source message's id ties the dead letter to its ledger entry (detail.sqsMessageId).
          MessageAttributes: {
            rejectedFor: { DataType: 'String', StringValue: err.reason },
            sqsMessageId: { DataType: 'String', StringValue: record.messageId },
          },
        }),
      );
    }
  };
  /** The last delivery failed: SQS moves the message to the DLQ next; ledger it and report it first. */
  const deadLettered = async (record: SQSRecord, err: unknown): Promise<void> => {
    const attempts = Number(record.attributes?.ApproximateReceiveCount ?? 1);
    const error = err instanceof Error ? err.name : 'Error';
    logger.error('message failed on its last delivery; SQS moves it to the dead-letter queue', { sqsMessageId: record.messageId, attempts, error });
    await ctx.ledger.append({
      type: 'message.rejected',
      actor: ctx.self.name,
      ...claimedIds(record.body),
      detail: { sqsMessageId: record.messageId, deadLettered: true, attempts, error: error.slice(0, 64) },
    });
    try {
      await giveUp?.(ctx, record);
    } catch (failure) {
      logger.error('could not report the failed message', { sqsMessageId: record.messageId, error: (failure as Error).message });
    }
  };
  const once = makeIdempotent(guarded, { persistenceStore, config: idempotency }) as (r: SQSRecord) => Promise<void>;

  /** One record; on its last delivery, outside the idempotency wrapper so that its refusals count too. */
  const processRecord = (context: Context) => async (record: SQSRecord): Promise<void> => {
    if (!isLastAttempt(ctx, record)) return once(record);
    try {
      await beforeDeadline(once(record), context);
    } catch (err) {
      // A refusal was ledgered and dead-lettered where it was decided.
      if (!isSecurityError(err)) await deadLettered(record, err);
      throw err;
    }
  };

  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    idempotency.registerLambdaContext(context);
    // One processor per invocation: it holds the batch's results, and invocations may overlap in one process.
    return processPartialResponse(event, processRecord(context), new BatchProcessor(EventType.SQS), { context });
  };
}
