import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { tableName } from '../platform/environment';
import { isSecurityError } from '../kernel/errors';
import type { AgentContext } from '../agents/context';
import { prefetchRecord } from '../agents/receive';

export type RecordHandler = (ctx: AgentContext, record: SQSRecord) => Promise<void>;

/** Called for a message whose deliveries are exhausted: tell whoever waits on it that its work will not be done. */
export type GiveUpHandler = (ctx: AgentContext, record: SQSRecord) => Promise<void>;

/** True when the record was received from the queue at `queueUrl` (its ARN and URL end in the queue's name). */
function isFrom(record: SQSRecord, queueUrl: string | undefined): boolean {
  return queueUrl !== undefined && record.eventSourceARN?.split(':').pop() === queueUrl.split('/').pop();
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
 * dead-letter queue at once, never retried; any other failure is retried by SQS. A message whose deliveries
 * are exhausted is redriven to the agent's failed queue, which this same function consumes: it ledgers the
 * message, `giveUp` reports it so the command it served still ends, and it moves on to the dead-letter queue.
 * Accounting from a queue, not from the failing invocation, holds when that invocation crashed or timed out:
 * every dead letter has its ledger entry.
 */
export function agentBatchHandler(ctx: AgentContext, handleRecord: RecordHandler, logger: Logger, giveUp?: GiveUpHandler) {
  const idempotency = new IdempotencyConfig({ eventKeyJmesPath: 'messageId', expiresAfterSeconds: 24 * 3600 });
  // One persistence layer per idempotent function: a layer keeps the key prefix of the first it serves.
  const persistence = () => new DynamoDBPersistenceLayer({ tableName: tableName(ctx.env, 'idempotency'), awsSdkV3Client: ctx.doc as never });

  /** Moves the record to the dead-letter queue; its source message id ties the dead letter to its ledger entry. */
  const toDeadLetters = async (record: SQSRecord, rejectedFor?: string): Promise<void> => {
    await ctx.sqs.send(
      new SendMessageCommand({
        QueueUrl: ctx.env.AGENTSEC_DLQ_URL,
        MessageBody: record.body,
        MessageAttributes: {
          ...(rejectedFor ? { rejectedFor: { DataType: 'String', StringValue: rejectedFor } } : {}),
          sqsMessageId: { DataType: 'String', StringValue: record.messageId },
        },
      }),
    );
  };

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
      await toDeadLetters(record, err.reason);
    }
  };

  /** A message from the failed queue: ledger it, report it, then move it to the dead-letter queue. */
  const exhausted = async (record: SQSRecord): Promise<void> => {
    logger.error('message exhausted its deliveries; it is ledgered and moved to the dead-letter queue', { sqsMessageId: record.messageId });
    await ctx.ledger.append({
      type: 'message.rejected',
      actor: ctx.self.name,
      ...claimedIds(record.body),
      detail: { sqsMessageId: record.messageId, deadLettered: true, deliveries: ctx.topology.runtime.maxReceiveCount },
    });
    try {
      await giveUp?.(ctx, record);
    } catch (failure) {
      // A message that does not verify ends nothing (only a verified message may end a command); others retry.
      if (!isSecurityError(failure)) throw failure;
      logger.warn('a failed message that does not verify is not reported', { sqsMessageId: record.messageId, reason: failure.reason });
    }
    if (ctx.env.AGENTSEC_DLQ_URL) await toDeadLetters(record);
  };

  // Explicit key prefixes: a minified bundle renames functions, and the keys must outlive a deploy.
  const once = makeIdempotent(guarded, { persistenceStore: persistence(), config: idempotency, keyPrefix: `${ctx.self.name}#deliver` }) as (
    r: SQSRecord,
  ) => Promise<void>;
  const accountedOnce = makeIdempotent(exhausted, { persistenceStore: persistence(), config: idempotency, keyPrefix: `${ctx.self.name}#exhausted` }) as (
    r: SQSRecord,
  ) => Promise<void>;
  const processRecord = (record: SQSRecord): Promise<void> => {
    if (isFrom(record, ctx.env.AGENTSEC_FAILED_QUEUE_URL)) return accountedOnce(record);
    // The message's KMS decrypt runs while the idempotency record is written; the receive pipeline keeps its order.
    prefetchRecord(ctx, record);
    return once(record);
  };

  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    idempotency.registerLambdaContext(context);
    // One processor per invocation: it holds the batch's results, and invocations may overlap in one process.
    return processPartialResponse(event, processRecord, new BatchProcessor(EventType.SQS), { context });
  };
}
