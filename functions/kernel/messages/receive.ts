import { keyedDigest } from '../keyed-digest';
import { CLOCK_SKEW_MS, DirectiveClaims } from '../directives/claims';
import { DirectiveVerifier } from '../directives/verify';
import { SecurityError } from '../errors';
import { assertEdge, assertKnownSender, assertSenderKind, isDelivery } from '../flow/edges';
import { assertNoReadUp } from '../flow/no-read-up';
import { assertNoWriteDown } from '../flow/no-write-down';
import type { Topology } from '../topology/topology';
import { AgentMessage, messageIdTime, parseMessage } from './envelope';
import { EnvelopeCipher, MessageAddress } from './envelope-cipher';
import { assertAuthorizedLabel, expectationFor } from './message-directive';
import { unsaltBody } from './salted-body';
import { SingleUseStore } from './single-use';

/* The receive pipeline every agent uses: each refusal is a SecurityError with its reason code, for the caller to ledger (DESIGN §4). */

export interface ReceiveContext {
  /** The receiving agent. */
  readonly self: string;
  readonly topology: Topology;
  readonly cipher: EnvelopeCipher;
  readonly singleUse: SingleUseStore;
  readonly verifier: DirectiveVerifier;
  /**
   * The transport's id of this delivery (the SQS message id). SQS redelivers a message a crash interrupted
   * under the same id, and that redelivery is accepted; a copy sent again gets a new id and is a REPLAY.
   * @default none: every second receipt is a REPLAY
   */
  readonly delivery?: string;
  /** Clock in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

export interface ReceivedMessage {
  readonly message: AgentMessage;
  readonly plaintext: Buffer;
  /**
   * The salt of the content digest, sealed with the content: a secret of sender and addressee only, from which the
   * addressee may derive the salts of what it digests in turn (DESIGN §6).
   */
  readonly salt: string;
  /** The verified, now consumed, directive the message carried. */
  readonly directive?: DirectiveClaims;
}

/**
 * Accepts a message only after every check of DESIGN §4, in order: schema (SCHEMA); addressed to self
 * (MISROUTED); a known sender (UNKNOWN_SENDER) on an allowed edge (NOT_AUTHORIZED); self cleared for the
 * label (READ_UP); the sender not writing down (WRITE_DOWN); decryption under the exact context
 * (CONTEXT_MISMATCH, TAMPERED) and the content digest; an id not older than queue retention (REPLAY); the
 * directive's signature, expiry and binding; then the message id and directive nonce are consumed together
 * by this delivery (REPLAY when another one did), so a rejected or failed delivery never spends one without
 * the other, and a redelivery after a crash is not mistaken for a replay.
 */
export async function receiveMessage(body: string, ctx: ReceiveContext): Promise<ReceivedMessage> {
  const { self, topology } = ctx;
  const now = (ctx.now ?? Date.now)();
  const message = checkedBeforeOpening(body, self, topology);
  const delivery = isDelivery(message.from, message.kind);

  const opened = await ctx.cipher.open(sealedBodyOf(message));
  const { salt, content: plaintext } = unsaltBody(opened);
  if (keyedDigest(salt, plaintext) !== message.contentDigest) {
    throw new SecurityError('TAMPERED', `message ${message.id} content does not match its digest`);
  }

  // The id's timestamp is authenticated by the encryption context; SQS never delivers past retention.
  const acceptUntil = messageIdTime(message.id) + topology.runtime.messageRetentionDays * 86_400_000 + CLOCK_SKEW_MS;
  if (now >= acceptUntil) throw new SecurityError('REPLAY', `message ${message.id} is older than queue retention`);

  let directive: DirectiveClaims | undefined;
  if (message.directive) {
    directive = await ctx.verifier.verify(message.directive, expectationFor(message.directive.claims, { ...message, to: self }, delivery));
    assertAuthorizedLabel(directive, message.label, delivery);
  }

  await ctx.singleUse.consumeAll([
    { value: `message#${message.id}`, expiresAtMs: acceptUntil },
    ...(directive && !delivery ? [{ value: `directive#${directive.nonce}`, expiresAtMs: directive.expiresAt }] : []),
  ], ctx.delivery);
  return { message, plaintext, salt, ...(directive ? { directive } : {}) };
}

/** The checks of DESIGN §4 that come before decryption, in their order: what every message must pass before KMS is asked. */
function checkedBeforeOpening(body: string, self: string, topology: Topology): AgentMessage {
  const message = parseMessage(body);
  if (message.to !== self) throw new SecurityError('MISROUTED', `message ${message.id} is for ${message.to}, not ${self}`);
  assertKnownSender(topology, message.from);
  assertEdge(topology, message.from, self);
  assertSenderKind(message.from, message.kind);
  assertNoReadUp(self, topology.agent(self).clearance, message.label);
  assertNoWriteDown(topology, message.from, message.label);
  return message;
}

/**
 * Starts decrypting a message that passes every check before decryption, so that its KMS call runs while the
 * delivery's idempotency record is written; {@link receiveMessage} still runs every check in order and opens it
 * (the cipher hands it this open's outcome). A message that fails a check is not opened here: nothing is thrown,
 * nothing is recorded, and its refusal is the pipeline's.
 */
export function prefetchMessage(body: string, ctx: Pick<ReceiveContext, 'self' | 'topology' | 'cipher'>): void {
  let message: AgentMessage;
  try {
    message = checkedBeforeOpening(body, ctx.self, ctx.topology);
  } catch {
    return;
  }
  ctx.cipher.prefetch(sealedBodyOf(message));
}

/** A message's ciphertext with the address its encryption context binds. */
function sealedBodyOf(message: AgentMessage): MessageAddress & { readonly ciphertext: string } {
  return { from: message.from, to: message.to, label: message.label, messageId: message.id, commandId: message.commandId, ciphertext: message.ciphertext };
}
