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
 * maxReceiveCount. A failure on the last delivery is ledgered before SQS redrives the message (every dead
 * letter has its ledger entry) and `giveUp` reports it, so the command it served still ends.
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
      if (!isSecurityError(err)) {
        if (isLastAttempt(ctx, record)) await deadLettered(record, err);
        throw err;
      }
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
  const once = makeIdempotent(guarded, { persistenceStore, config: idempotency });

  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    idempotency.registerLambdaContext(context);
    // One processor per invocation: it holds the batch's results, and invocations may overlap in one process.
    return processPartialResponse(event, once as (r: SQSRecord) => Promise<void>, new BatchProcessor(EventType.SQS), { context });
  };
}
