import { SecurityError } from '../errors';
import type { Topology } from '../topology/topology';

/*
 * Who may send to whom: the topology's edges for agents, a fixed list for the service senders (the API and the
 * signer). Queue send rights in IAM follow the same edges (DESIGN §3); the kernel checks them again on both ends.
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
export const SIGNER = 'signer';

/** NOT_AUTHORIZED unless a service sender sends only what it may (DESIGN §5: the signer carries directives only). */
export function assertSenderKind(from: string, kind: string): void {
  if (from === SIGNER && kind !== 'directive') throw new SecurityError('NOT_AUTHORIZED', `the signer sends directives only, not ${kind}`);
}

/**
 * A `directive` message from the signer delivers a directive to the agent that asked for it; it does not use
 * it. The nonce is spent where the directive authorizes something: the tool runtime, or the receiver of the
 * declassified content.
 */
export function isDelivery(from: string, kind: string): boolean {
  return from === SIGNER && kind === 'directive';
}

/** UNKNOWN_SENDER unless `from` is an agent of the topology or a service sender (fail closed, DESIGN §2). */
export function assertKnownSender(topology: Topology, from: string): void {
  if (!topology.agents.has(from) && !Object.hasOwn(SERVICE_SENDERS, from)) {
    throw new SecurityError('UNKNOWN_SENDER', `"${from}" is not an agent of this topology`);
  }
}

/** NOT_AUTHORIZED unless the topology has the edge `from → to` (queue send rights follow these, DESIGN §3). */
export function assertEdge(topology: Topology, from: string, to: string): void {
  const allowed = topology.agents.has(from)
    ? topology.allowsEdge(from, to)
    : (SERVICE_SENDERS[from]?.some((allowed) => allowed === to || (allowed === '*' && topology.agents.has(to))) ?? false);
  if (!allowed) throw new SecurityError('NOT_AUTHORIZED', `no edge ${from} → ${to}`);
}
