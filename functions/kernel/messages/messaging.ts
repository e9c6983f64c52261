import { sha256Hex } from '../canonical';
import {
  CLOCK_SKEW_MS,
  DirectiveClaims,
  DirectiveExpectation,
  DirectiveVerifier,
  SignedDirective,
  assertDirectiveBinding,
} from '../directives/directives';
import { EnvelopeCipher } from './envelope-cipher';
import { SecurityError } from '../errors';
import { Label, dominates, formatLabel, sameLabel } from '../labels';
import { AgentMessage, MessageKind, agentMessageSchema, messageIdTime, newMessageId, parseMessage } from './envelope';
import { describeIssues } from '../schemas';
import { SingleUseStore } from './single-use';
import { Topology } from '../topology/topology';

/**
 * The send and receive pipelines every agent uses; handlers never build or read an SQS body themselves.
 * Each refusal is a SecurityError with its reason code, for the caller to ledger (DESIGN §4).
 */

/** The kernel agent: the only sender that may declassify (DESIGN §6). */
export const KERNEL_AGENT = 'core';

/** Senders that are functions, not agents: they carry the user's command and may reach only the kernel agent. */
export const SERVICE_SENDERS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  api: Object.freeze([KERNEL_AGENT]),
  /** The signer hands a directive signed after human approval to whichever agent asked for it. */
  signer: Object.freeze(['*']),
});

/** The signer is the authority's messenger: it sends `directive` messages and nothing else. */
const SIGNER = 'signer';

/** NOT_AUTHORIZED unless a service sender sends only what it may (DESIGN §5: the signer carries directives only). */
function assertSenderKind(from: string, kind: string): void {
  if (from === SIGNER && kind !== 'directive') throw new SecurityError('NOT_AUTHORIZED', `the signer sends directives only, not ${kind}`);
}

/**
 * A `directive` message from the signer delivers a directive to the agent that asked for it; it does not use
 * it. The nonce is spent where the directive authorizes something: the tool runtime, or the receiver of the
 * declassified content.
 */
function isDelivery(from: string, kind: string): boolean {
  return from === SIGNER && kind === 'directive';
}

/** UNKNOWN_SENDER unless `from` is an agent of the topology or a service sender (fail closed, DESIGN §2). */
function assertKnownSender(topology: Topology, from: string): void {
  if (!topology.agents.has(from) && !Object.hasOwn(SERVICE_SENDERS, from)) {
    throw new SecurityError('UNKNOWN_SENDER', `"${from}" is not an agent of this topology`);
  }
}

/** NOT_AUTHORIZED unless the topology has the edge `from → to` (queue send rights follow these, DESIGN §3). */
function assertEdge(topology: Topology, from: string, to: string): void {
  const allowed = topology.agents.has(from)
    ? topology.allowsEdge(from, to)
    : (SERVICE_SENDERS[from]?.some((allowed) => allowed === to || (allowed === '*' && topology.agents.has(to))) ?? false);
  if (!allowed) throw new SecurityError('NOT_AUTHORIZED', `no edge ${from} → ${to}`);
}

/**
 * WRITE_DOWN when an agent writes below its own clearance's level (no write down, DESIGN §2; IAM lets it
 * create data keys only at or above its level, DESIGN §3) — unless it is the kernel agent carrying a
 * declassification directive, whose signature and binding the receiver verifies.
 */
function assertNoWriteDown(topology: Topology, from: string, messageLabel: Label): void {
  const sender = topology.agents.get(from);
  // An effector writes at least at its whole clearance, compartments included: keys are per level, so only this
  // check stops a compromised agent from dropping a compartment (MEDICAL) from what it read (DESIGN §2).
  if (!sender || dominates(messageLabel, sender.clearance)) return;
  // The kernel agent labels what it writes with the join of what it read (DESIGN §6); below that it writes
  // only with a declassification directive, which its own kernel obtains before sending.
  if (from === KERNEL_AGENT) return;
  throw new SecurityError(
    'WRITE_DOWN',
    `${from} (${formatLabel(sender.clearance)}) may not write at ${formatLabel(messageLabel)} without a declassification`,
  );
}

interface DirectiveContext {
  readonly to: string;
  readonly commandId: string;
  readonly principal: string;
  readonly contentDigest: string;
}

/**
 * What a directive on a message must be bound to: this addressee, command, principal and, to declassify,
 * content. A delivered declassification is bound to its eventual receiver, and goes only to the kernel agent.
 */
function expectationFor(claims: DirectiveClaims, m: DirectiveContext, delivery = false): DirectiveExpectation {
  if (delivery && claims.kind === 'declassify') {
    if (m.to !== KERNEL_AGENT) throw new SecurityError('BINDING_MISMATCH', `a declassification is delivered to ${KERNEL_AGENT} only`);
    return { kind: 'declassify', target: claims.target, commandId: m.commandId, principal: m.principal, contentDigest: claims.contentDigest ?? '' };
  }
  const common = { target: m.to, commandId: m.commandId, principal: m.principal };
  return claims.kind === 'declassify' ? { ...common, kind: 'declassify', contentDigest: m.contentDigest } : { ...common, kind: 'tool' };
}

/** BINDING_MISMATCH unless the directive authorizes exactly the label the message carries. */
function assertAuthorizedLabel(claims: DirectiveClaims, messageLabel: Label, delivery = false): void {
  const authorized = !delivery && claims.kind === 'declassify' && claims.declassifyTo ? claims.declassifyTo : claims.label;
  if (!sameLabel(authorized, messageLabel)) {
    throw new SecurityError('BINDING_MISMATCH', `directive ${claims.id} is for ${formatLabel(authorized)}, not ${formatLabel(messageLabel)}`);
  }
}

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
  const receiver = topology.agent(to);
  if (!dominates(receiver.clearance, messageLabel)) {
    throw new SecurityError('WRITE_DOWN', `${to} (${formatLabel(receiver.clearance)}) is not cleared for ${formatLabel(messageLabel)}`);
  }
  assertNoWriteDown(topology, from, messageLabel);
  const contentDigest = sha256Hex(input.plaintext);
  if (directive) {
    // The receiver verifies the signature; the sender refuses early what the receiver would refuse.
    assertDirectiveBinding(directive.claims, expectationFor(directive.claims, { to, commandId: input.commandId, principal: input.principal, contentDigest }, delivery));
    assertAuthorizedLabel(directive.claims, messageLabel, delivery);
  }
  const id = input.id ?? newMessageId();
  const ciphertext = await input.cipher.seal({ from, to, label: messageLabel, messageId: id, commandId: input.commandId, plaintext: input.plaintext });
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
  const message = parseMessage(body);
  if (message.to !== self) throw new SecurityError('MISROUTED', `message ${message.id} is for ${message.to}, not ${self}`);
  assertKnownSender(topology, message.from);
  assertEdge(topology, message.from, self);
  assertSenderKind(message.from, message.kind);
  const delivery = isDelivery(message.from, message.kind);
  const clearance = topology.agent(self).clearance;
  if (!dominates(clearance, message.label)) {
    throw new SecurityError('READ_UP', `${self} (${formatLabel(clearance)}) cannot read ${formatLabel(message.label)}`);
  }
  assertNoWriteDown(topology, message.from, message.label);

  const plaintext = await ctx.cipher.open({
    from: message.from,
    to: message.to,
    label: message.label,
    messageId: message.id,
    commandId: message.commandId,
    ciphertext: message.ciphertext,
  });
  if (sha256Hex(plaintext) !== message.contentDigest) {
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
  return { message, plaintext, ...(directive ? { directive } : {}) };
}
