import { assertDirectiveBinding } from '../directives/binding';
import { SignedDirective } from '../directives/claims';
import { SecurityError } from '../errors';
import { assertEdge, assertKnownSender, assertSenderKind, isDelivery } from '../flow/edges';
import { assertAddresseeCleared, assertNoWriteDown } from '../flow/no-write-down';
import { Label } from '../labels';
import { describeIssues } from '../schemas';
import type { Topology } from '../topology/topology';
import { AgentMessage, MessageKind, agentMessageSchema, newMessageId } from './envelope';
import { EnvelopeCipher } from './envelope-cipher';
import { assertAuthorizedLabel, expectationFor } from './message-directive';
import { saltBody } from './salted-body';

/* The send pipeline every agent uses; handlers never build an SQS body themselves (DESIGN §4). */

export interface PrepareMessageInput {
  readonly topology: Topology;
  readonly cipher: EnvelopeCipher;
  readonly from: string;
  readonly to: string;
  readonly kind: MessageKind;
  /** The label of the content: at least the join of everything it was made from (DESIGN §6). */
  readonly label: Label;
  readonly commandId: string;
  readonly principal: string;
  readonly plaintext: Uint8Array | string;
  /** A declassification (required to write below the sender's level) or a directive to deliver. */
  readonly directive?: SignedDirective;
  /**
   * The message id, when a send is retried: the same id makes a second copy a REPLAY at the receiver, so work
   * is never delegated twice. @default a fresh UUIDv7
   */
  readonly id?: string;
  /**
   * The salt of the content digest, sealed with the content (DESIGN §6). Given by a sender that bound the digest
   * before sending, as core does for a declassification the signer signs. @default a fresh one
   */
  readonly salt?: string;
}

/**
 * Builds the SQS body of a message after the sender-side checks: known sender, an allowed edge, an
 * addressee cleared for the label (a declassified message already carries the lowered label), no write down.
 *
 * @example
 * const message = await prepareMessage({ topology, cipher, from: 'core', to: 'analyst', kind: 'task',
 *   label: label('TOP_SECRET'), commandId, principal: 'alice', plaintext: 'Summarize the record' });
 */
export async function prepareMessage(input: PrepareMessageInput): Promise<AgentMessage> {
  const { topology, from, to, label: messageLabel, directive } = input;
  assertKnownSender(topology, from);
  assertEdge(topology, from, to);
  assertSenderKind(from, input.kind);
  const delivery = isDelivery(from, input.kind);
  assertAddresseeCleared(topology, to, messageLabel);
  assertNoWriteDown(topology, from, messageLabel);
  const { sealed, contentDigest } = saltBody(input.plaintext, input.salt);
  if (directive) {
    // The receiver verifies the signature; the sender refuses early what the receiver would refuse.
    assertDirectiveBinding(directive.claims, expectationFor(directive.claims, { to, commandId: input.commandId, principal: input.principal, contentDigest }, delivery));
    assertAuthorizedLabel(directive.claims, messageLabel, delivery);
  }
  const id = input.id ?? newMessageId();
  const ciphertext = await input.cipher.seal({ from, to, label: messageLabel, messageId: id, commandId: input.commandId, plaintext: sealed });
  const parsed = agentMessageSchema.safeParse({
    v: 1,
    id,
    from,
    to,
    kind: input.kind,
    label: messageLabel,
    commandId: input.commandId,
    principal: input.principal,
    ciphertext,
    contentDigest,
    ...(directive ? { directive } : {}),
    sentAt: new Date().toISOString(),
  });
  if (!parsed.success) throw new SecurityError('SCHEMA', `outgoing message: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
