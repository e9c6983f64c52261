import { sha256Hex } from './canonical';
import {
  CLOCK_SKEW_MS,
  DirectiveClaims,
  DirectiveExpectation,
  DirectiveVerifier,
  SignedDirective,
  assertDirectiveBinding,
} from './directives';
import { EnvelopeCipher } from './envelope-encryption';
import { SecurityError } from './errors';
import { Label, dominates, formatLabel, levelRank, sameLabel } from './labels';
import { AgentMessage, MessageKind, agentMessageSchema, messageIdTime, newMessageId, parseMessage } from './message';
import { describeIssues } from './schemas';
import { SingleUseStore } from './single-use';
import { Topology } from './topology';

/**
 * The send and receive pipelines every agent uses; handlers never build or read an SQS body themselves.
 * Each refusal is a SecurityError with its reason code, for the caller to ledger (DESIGN §4).
 */

/** The kernel agent: the only sender that may declassify (DESIGN §6). */
export const KERNEL_AGENT = 'core';

/** Senders that are functions, not agents: they carry the user's command and may reach only the kernel agent. */
export const SERVICE_SENDERS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  api: Object.freeze([KERNEL_AGENT]),
  signer: Object.freeze([KERNEL_AGENT]),
});

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
    : (SERVICE_SENDERS[from]?.includes(to) ?? false);
  if (!allowed) throw new SecurityError('NOT_AUTHORIZED', `no edge ${from} → ${to}`);
}

/**
 * WRITE_DOWN when an agent writes below its own clearance's level (no write down, DESIGN §2; IAM lets it
 * create data keys only at or above its level, DESIGN §3) — unless it is the kernel agent carrying a
 * declassification directive, whose signature and binding the receiver verifies.
 */
function assertNoWriteDown(topology: Topology, from: string, messageLabel: Label, directive: SignedDirective | undefined): void {
  const sender = topology.agents.get(from);
  if (!sender || levelRank(messageLabel.level) >= levelRank(sender.clearance.level)) return;
  if (from === KERNEL_AGENT && directive?.claims.kind === 'declassify') return;
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

/** What a directive on a message must be bound to: this addressee, command, principal and, to declassify, content. */
function expectationFor(claims: DirectiveClaims, m: DirectiveContext): DirectiveExpectation {
  const common = { target: m.to, commandId: m.commandId, principal: m.principal };
  return claims.kind === 'declassify' ? { ...common, kind: 'declassify', contentDigest: m.contentDigest } : { ...common, kind: 'tool' };
}

/** BINDING_MISMATCH unless the directive authorizes exactly the label the message carries. */
function assertAuthorizedLabel(claims: DirectiveClaims, messageLabel: Label): void {
  const authorized = claims.kind === 'declassify' && claims.declassifyTo ? claims.declassifyTo : claims.label;
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
  const receiver = topology.agent(to);
  if (!dominates(receiver.clearance, messageLabel)) {
    throw new SecurityError('WRITE_DOWN', `${to} (${formatLabel(receiver.clearance)}) is not cleared for ${formatLabel(messageLabel)}`);
  }
  assertNoWriteDown(topology, from, messageLabel, directive);
  const contentDigest = sha256Hex(input.plaintext);
  if (directive) {
    // The receiver verifies the signature; the sender refuses early what the receiver would refuse.
    assertDirectiveBinding(directive.claims, expectationFor(directive.claims, { to, commandId: input.commandId, principal: input.principal, contentDigest }));
    assertAuthorizedLabel(directive.claims, messageLabel);
  }
  const id = newMessageId();
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
 * (REPLAY), so a rejected or failed delivery never spends one without the other.
 */
export async function receiveMessage(body: string, ctx: ReceiveContext): Promise<ReceivedMessage> {
  const { self, topology } = ctx;
  const now = (ctx.now ?? Date.now)();
  const message = parseMessage(body);
  if (message.to !== self) throw new SecurityError('MISROUTED', `message ${message.id} is for ${message.to}, not ${self}`);
  assertKnownSender(topology, message.from);
  assertEdge(topology, message.from, self);
  const clearance = topology.agent(self).clearance;
  if (!dominates(clearance, message.label)) {
    throw new SecurityError('READ_UP', `${self} (${formatLabel(clearance)}) cannot read ${formatLabel(message.label)}`);
  }
  assertNoWriteDown(topology, message.from, message.label, message.directive);

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
    directive = await ctx.verifier.verify(message.directive, expectationFor(message.directive.claims, { ...message, to: self }));
    assertAuthorizedLabel(directive, message.label);
  }

  await ctx.singleUse.consumeAll([
    { value: `message#${message.id}`, expiresAtMs: acceptUntil },
    ...(directive ? [{ value: `directive#${directive.nonce}`, expiresAtMs: directive.expiresAt }] : []),
  ]);
  return { message, plaintext, ...(directive ? { directive } : {}) };
}
