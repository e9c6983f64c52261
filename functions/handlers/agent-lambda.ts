import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { agentBatchHandler } from './agent-batch';
import { observed } from './observed';
import { AgentContext, AgentContextOptions, createAgentContext } from '../agents/context';
import { serviceNameOf } from '../platform/metrics';
import { once } from '../platform/once';

export type AgentHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
export type AgentKind = new (ctx: AgentContext) => {
  handle(record: SQSEvent['Records'][number]): Promise<void>;
  /** The record's last delivery failed: report that its work will not be done. */
  giveUp?(record: SQSEvent['Records'][number]): Promise<void>;
};

/**
 * Builds an agent's SQS handler: the Powertools middlewares (traces, logs, metrics) around the kernel's batch processing.
 * Its log level is `POWERTOOLS_LOG_LEVEL` of the agent's environment (the local cloud passes its own), unless Lambda's
 * advanced logging controls set `AWS_LAMBDA_LOG_LEVEL`, which Powertools puts first.
 */
export function createAgentHandler(Agent: AgentKind, options: AgentContextOptions): AgentHandler {
  const ctx = createAgentContext(options);
  const agent = new Agent(ctx);
  const logLevel = (options.env ?? process.env).POWERTOOLS_LOG_LEVEL as LogLevel | undefined;
  const logger = new Logger({ serviceName: serviceNameOf(ctx.self.name), ...(logLevel && { logLevel }) });
  const giveUp = agent.giveUp ? (_c: AgentContext, record: SQSEvent['Records'][number]) => agent.giveUp!(record) : undefined;
  return observed(agentBatchHandler(ctx, (_c, record) => agent.handle(record), logger, giveUp), logger);
}

/** Defers construction to the first invocation, so importing a handler module has no side effects. */
export function lazyHandler(build: () => AgentHandler): AgentHandler {
  const built = once(build);
  return (event, context) => built()(event, context);
}
