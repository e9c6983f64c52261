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
 * maxReceiveCount.
 */
export function agentBatchHandler(ctx: AgentContext, handleRecord: RecordHandler, logger: Logger) {
  const processor = new BatchProcessor(EventType.SQS);
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
          MessageAttributes: { rejectedFor: { DataType: 'String', StringValue: err.reason } },
        }),
      );
    }
  };
  const once = makeIdempotent(guarded, { persistenceStore, config: idempotency });

  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    idempotency.registerLambdaContext(context);
    return processPartialResponse(event, once as (r: SQSRecord) => Promise<void>, processor, { context });
  };
}
