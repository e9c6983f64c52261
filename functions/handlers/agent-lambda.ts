import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { agentBatchHandler } from './agent-batch';
import { AgentContext, AgentContextOptions, createAgentContext } from '../agents/context';
import { once } from '../platform/once';

export type AgentHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
export type AgentKind = new (ctx: AgentContext) => {
  handle(record: SQSEvent['Records'][number]): Promise<void>;
  /** The record's last delivery failed: report that its work will not be done. */
  giveUp?(record: SQSEvent['Records'][number]): Promise<void>;
};

/** Builds an agent's SQS handler: middy with the Powertools logger around the kernel's batch processing. */
export function createAgentHandler(Agent: AgentKind, options: AgentContextOptions): AgentHandler {
  const ctx = createAgentContext(options);
  const agent = new Agent(ctx);
  const logger = new Logger({ serviceName: `agentsec-${ctx.self.name}`, logLevel: ((options.env ?? process.env).AGENTSEC_LOG_LEVEL ?? 'WARN') as 'WARN' });
  const giveUp = agent.giveUp ? (_c: AgentContext, record: SQSEvent['Records'][number]) => agent.giveUp!(record) : undefined;
  return middy(agentBatchHandler(ctx, (_c, record) => agent.handle(record), logger, giveUp)).use(injectLambdaContext(logger)) as AgentHandler;
}

/** Defers construction to the first invocation, so importing a handler module has no side effects. */
export function lazyHandler(build: () => AgentHandler): AgentHandler {
  const built = once(build);
  return (event, context) => built()(event, context);
}
