import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * One queue per agent and its dead-letter queue (DESIGN §4: a rejected message ends in the DLQ, never in a
 * retry loop). The redrive policy moves a message to the DLQ once its receive count reaches
 * `maxReceiveCount`. Provisioning again converges the attributes instead of failing on a changed topology.
 */

export interface AgentQueueOptions {
  readonly prefix: string;
  readonly agents: readonly string[];
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionDays: number;
}

export interface AgentQueues {
  readonly queues: Record<string, string>;
  readonly dlqs: Record<string, string>;
}

export const agentQueueName = (prefix: string, agent: string) => `${prefix}-${agent}`;
export const deadLetterQueueName = (prefix: string, agent: string) => `${prefix}-${agent}-dlq`;

const DLQ_RETENTION_SECONDS = 14 * 24 * 3600;

export async function ensureAgentQueues(sqs: SQSClient, options: AgentQueueOptions): Promise<AgentQueues> {
  const pairs = await Promise.all(
    options.agents.map(async (agent) => {
      const dlqUrl = await ensureQueue(sqs, deadLetterQueueName(options.prefix, agent), agent, {
        MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS),
      });
      const dlqArn = await queueArn(sqs, dlqUrl);
      const url = await ensureQueue(sqs, agentQueueName(options.prefix, agent), agent, {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(options.retentionDays * 24 * 3600),
        ReceiveMessageWaitTimeSeconds: '20',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount }),
      });
      return [agent, url, dlqUrl] as const;
    }),
  );
  return {
    queues: Object.fromEntries(pairs.map(([agent, url]) => [agent, url])),
    dlqs: Object.fromEntries(pairs.map(([agent, , dlq]) => [agent, dlq])),
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
