import { randomUUID } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import type { SQSRecord } from 'aws-lambda';
import { CoreAgent } from '../../../functions/agents/core';
import { EffectorAgent } from '../../../functions/agents/effector';
import { AgentHandler, createAgentHandler } from '../../../functions/handlers/agent-lambda';
import { signerFromEnvironment } from '../../../functions/handlers/signer';
import { awsClientConfig } from '../../../functions/platform/aws-clients';
import { EnvelopeCipher } from '../../../functions/kernel/messages/envelope-cipher';
import { Label } from '../../../functions/kernel/labels';
import type { AgentMessage } from '../../../functions/kernel/messages/envelope';
import { KERNEL_AGENT } from '../../../functions/kernel/flow/edges';
import { prepareMessage } from '../../../functions/kernel/messages/send';
import { InProcessSignerClient } from '../../../functions/signer/signer-client';
import { InProcessEffectGateway } from '../../../functions/effects/client';
import { MemorySender } from '../../../functions/effects/senders';
import { effectGatewayFromEnvironment } from '../../../functions/handlers/effects';
import type { Topology } from '../../../functions/kernel/topology/topology';
import { environmentFor } from '../../../localstack/handler-environment';
import { createLambdaContext } from '../../../localstack/lambda-runtime';
import type { LocalResources } from '../../../localstack/local-state';

/**
 * An agent function invoked directly, beside the local cloud's own event sources: a second container of the
 * same function, on the same resources, for tests that control exactly which records an invocation gets.
 */
export function agentHandler(state: LocalResources, topology: Topology, agent: string): AgentHandler {
  const models = Object.fromEntries(
    [...topology.modelEndpoints.values()].filter((e) => e.baseUrlEnv).map((e) => [e.baseUrlEnv!, state.modelUrl]),
  );
  const env = { ...process.env, ...models, ...environmentFor(state, { agent, sendsTo: topology.agent(agent).sendsTo, signerFunction: 'signer' }) };
  const signerEnv = { ...process.env, ...environmentFor(state, { sendsTo: topology.agentNames() }) };
  const signer = new InProcessSignerClient(signerFromEnvironment(signerEnv, topology));
  const effects = new InProcessEffectGateway(effectGatewayFromEnvironment(signerEnv, topology, new MemorySender()));
  return createAgentHandler(agent === KERNEL_AGENT ? CoreAgent : EffectorAgent, { env, topology, signer: () => signer, effects: () => effects });
}

/** A task from core, sealed as core seals it. */
export async function coreTask(
  state: LocalResources,
  topology: Topology,
  task: { to: string; commandId: string; principal: string; label: Label; text: string },
): Promise<AgentMessage> {
  const kms = new KMSClient(awsClientConfig({ endpoint: state.endpoint }));
  try {
    return await prepareMessage({
      topology,
      cipher: new EnvelopeCipher({ kms, keyArns: state.keys }),
      from: KERNEL_AGENT,
      to: task.to,
      kind: 'task',
      label: task.label,
      commandId: task.commandId,
      principal: task.principal,
      plaintext: JSON.stringify({ subtaskId: randomUUID(), task: task.text }),
    });
  } finally {
    kms.destroy();
  }
}

/** An SQS record as the Lambda event source hands it over. */
export function sqsRecord(body: string, options: { messageId?: string; receiveCount?: number; agent?: string } = {}): SQSRecord {
  return {
    messageId: options.messageId ?? randomUUID(),
    receiptHandle: randomUUID(),
    body,
    attributes: { ApproximateReceiveCount: String(options.receiveCount ?? 1), SentTimestamp: String(Date.now()), SenderId: 'test', ApproximateFirstReceiveTimestamp: String(Date.now()) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:${options.agent ?? 'agent'}`,
    awsRegion: 'us-east-1',
  };
}

/** A Lambda context for a direct invocation. */
export function lambdaContext(functionName: string, timeoutMs = 30_000) {
  return createLambdaContext({ functionName, timeoutMs });
}
