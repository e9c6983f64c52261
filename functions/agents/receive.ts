import type { SQSRecord } from 'aws-lambda';
import { ReceivedMessage, prefetchMessage, receiveMessage } from '../kernel/messages/receive';
import type { AgentContext } from './context';

/**
 * The kernel's receive pipeline for one SQS record (DESIGN §4), the same for every agent. The SQS message id
 * names the delivery, so a redelivery of the same SQS message after a crash is not a replay.
 */
export function receiveRecord(ctx: AgentContext, record: SQSRecord): Promise<ReceivedMessage> {
  return receiveMessage(record.body, {
    self: ctx.self.name,
    topology: ctx.topology,
    cipher: ctx.cipher,
    singleUse: ctx.singleUse,
    verifier: ctx.verifier,
    delivery: record.messageId,
  });
}

/** Starts opening a record's message while its delivery is claimed; `receiveRecord` gets the outcome (see `prefetchMessage`). */
export function prefetchRecord(ctx: AgentContext, record: SQSRecord): void {
  prefetchMessage(record.body, { self: ctx.self.name, topology: ctx.topology, cipher: ctx.cipher });
}
