import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SignedDirective } from '../kernel/directives/claims';
import type { Label } from '../kernel/labels';
import { formatLabel } from '../kernel/labels';
import type { AgentMessage } from '../kernel/messages/envelope';
import { prepareMessage } from '../kernel/messages/send';
import type { AgentContext } from './context';

export interface Outgoing {
  readonly to: string;
  readonly kind: AgentMessage['kind'];
  readonly label: Label;
  readonly commandId: string;
  readonly principal: string;
  readonly body: unknown;
  readonly directive?: SignedDirective;
  /** The message id of a send that may be retried (see `prepareMessage`). @default a fresh one */
  readonly id?: string;
  /** The salt of the content digest, when the sender bound that digest already (see `prepareMessage`). @default a fresh one */
  readonly salt?: string;
}

/**
 * Sends one message along a topology edge: the kernel's send pipeline seals and checks it (edge, no write
 * down), then it goes to the receiver's queue and the ledger records it.
 */
export async function sendToAgent(ctx: AgentContext, out: Outgoing): Promise<AgentMessage> {
  return deliverToAgent(ctx, out, await sealForAgent(ctx, out));
}

/** The send pipeline's checks and seal, without sending: a message sealed ahead of its send (see `deliverToAgent`). */
export function sealForAgent(ctx: AgentContext, out: Outgoing): Promise<AgentMessage> {
  return prepareMessage({
    topology: ctx.topology,
    cipher: ctx.cipher,
    from: ctx.self.name,
    to: out.to,
    kind: out.kind,
    label: out.label,
    commandId: out.commandId,
    principal: out.principal,
    plaintext: JSON.stringify(out.body),
    directive: out.directive,
    id: out.id,
    salt: out.salt,
  });
}

/** Sends a message {@link sealForAgent} sealed for `out` to the receiver's queue, and the ledger records it. */
export async function deliverToAgent(ctx: AgentContext, out: Outgoing, message: AgentMessage): Promise<AgentMessage> {
  const queueUrl = ctx.env.AGENTSEC_QUEUE_URLS[out.to];
  if (!queueUrl) throw new Error(`no queue URL for agent "${out.to}" in AGENTSEC_QUEUE_URLS`);
  await ctx.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
  await ctx.ledger.append({
    type: 'message.sent',
    actor: ctx.self.name,
    commandId: out.commandId,
    messageId: message.id,
    directiveId: out.directive?.claims.id,
    digests: { content: message.contentDigest },
    detail: { to: out.to, kind: out.kind, label: formatLabel(out.label) },
  });
  return message;
}
