import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { failedQueueRedriveCount } from '../functions/kernel/topology/topology';

/**
 * One queue per agent, its failed queue and its dead-letter queue (DESIGN §4: a rejected message ends in the
 * DLQ, never in a retry loop). A message whose receive count reaches `maxReceiveCount` is redriven to the
 * failed queue, which the agent's function consumes to ledger it, report it and move it to the DLQ; the failed
 * queue itself redrives to the DLQ should that accounting keep failing. Provisioning again converges the
 * attributes instead of failing on a changed topology.
 */

export interface AgentQueueOptions {
  readonly prefix: string;
  readonly agents: readonly string[];
  readonly maxReceiveCount: number;
  /** Deliveries from the failed queue before a message goes to the DLQ unaccounted. */
  readonly failedMaxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionDays: number;
}

export interface AgentQueues {
  readonly queues: Record<string, string>;
  readonly failedQueues: Record<string, string>;
  readonly dlqs: Record<string, string>;
}

export const agentQueueName = (prefix: string, agent: string) => `${prefix}-${agent}`;
export const failedQueueName = (prefix: string, agent: string) => `${prefix}-${agent}-failed`;
export const deadLetterQueueName = (prefix: string, agent: string) => `${prefix}-${agent}-dlq`;

const DLQ_RETENTION_SECONDS = 14 * 24 * 3600;

export async function ensureAgentQueues(sqs: SQSClient, options: AgentQueueOptions): Promise<AgentQueues> {
  const pairs = await Promise.all(
    options.agents.map(async (agent) => {
      const dlqUrl = await ensureQueue(sqs, deadLetterQueueName(options.prefix, agent), agent, {
        MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS),
      });
      const failedUrl = await ensureQueue(sqs, failedQueueName(options.prefix, agent), agent, {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS),
        ReceiveMessageWaitTimeSeconds: '20',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await queueArn(sqs, dlqUrl), maxReceiveCount: failedQueueRedriveCount(options) }),
      });
      const url = await ensureQueue(sqs, agentQueueName(options.prefix, agent), agent, {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(options.retentionDays * 24 * 3600),
        ReceiveMessageWaitTimeSeconds: '20',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await queueArn(sqs, failedUrl), maxReceiveCount: options.maxReceiveCount }),
      });
      return { agent, url, failedUrl, dlqUrl };
    }),
  );
  return {
    queues: Object.fromEntries(pairs.map((p) => [p.agent, p.url])),
    failedQueues: Object.fromEntries(pairs.map((p) => [p.agent, p.failedUrl])),
    dlqs: Object.fromEntries(pairs.map((p) => [p.agent, p.dlqUrl])),
  };
}

export async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`cannot read the ARN of ${queueUrl}`);
  return arn;
}

async function ensureQueue(sqs: SQSClient, name: string, agent: string, attributes: Record<string, string>): Promise<string> {
  const existing = await existingQueueUrl(sqs, name);
  if (existing) {
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: existing, Attributes: attributes }));
    return existing;
  }
  const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes, tags: { 'agentsec:agent': agent } }));
  return out.QueueUrl!;
}

async function existingQueueUrl(sqs: SQSClient, name: string): Promise<string | undefined> {
  try {
    return (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (err) {
    if (err instanceof QueueDoesNotExist || (err as { name?: string }).name === 'AWS.SimpleQueueService.NonExistentQueue') {
      return undefined;
    }
    throw err;
  }
}
