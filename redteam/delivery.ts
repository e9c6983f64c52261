import type { ReasonCode } from '../functions/kernel/errors';
import type { LedgerEntry } from '../functions/kernel/ledger/entry';
import { AttackClass, inParallel, Outcome, outcome, until } from './attempt';
import type { RedTeamCloud } from './cloud';
import { deliver } from './craft';
import { LedgerWatch } from './evidence';

/** One hostile SQS body for one agent's queue, and the refusals DESIGN §4 and §5 say it must meet. */
export interface Delivery {
  readonly class: AttackClass;
  readonly name: string;
  /** Whose queue it goes on. */
  readonly agent: string;
  readonly body: string;
  /** The reason codes the kernel documents for this attack; another refusal is an anomaly, not a success. */
  readonly expected: readonly ReasonCode[];
}

interface Sent extends Delivery {
  readonly sqsMessageId: string;
  readonly messageId?: string;
  readonly commandId?: string;
}

/** What an agent does once it accepted a message: any of these after the send, for its command, is acceptance. */
const ACCEPTANCE = new Set(['message.sent', 'command.completed', 'declassified', 'tool.executed', 'directive.requested', 'directive.signed']);

/**
 * Puts every body on its queue, a few at a time (the receivers' ledger appends contend for the chain's head, so
 * a flood is slower than a window), then judges each from the ledger and the dead-letter queues: blocked when the
 * receiver's `message.rejected` (or the tool runtime's `tool.denied`) names it, a success when the receiver acted
 * on it instead, and an error when nothing was observed.
 */
export async function attemptDeliveries(rt: RedTeamCloud, deliveries: readonly Delivery[], window = 6): Promise<Outcome[]> {
  const watch = await new LedgerWatch(rt).refresh();
  const after = watch.head;
  const stop = watch.follow();
  let sent: Sent[];
  try {
    sent = await inParallel(deliveries, window, async (d): Promise<Sent> => {
      const s: Sent = { ...d, ...identifiers(d.body), sqsMessageId: await deliver(rt, d.agent, d.body) };
      await until(async () => (answered(watch, s, after) ? true : undefined), ANSWER_WITHIN_MS, 100);
      return s;
    });
  } finally {
    await stop();
  }
  // Whatever an accepted message set off must be on record before it is judged.
  await rt.quiesce();
  await watch.refresh();
  const dlq = await rt.deadLettered();
  return sent.map((s) => judge(s, watch, after, dlq.get(s.agent) ?? []));
}

/** How long a receiver has to refuse a body before the harness looks for what it did with it instead. */
const ANSWER_WITHIN_MS = 10_000;

function answered(watch: LedgerWatch, s: Sent, after: number): boolean {
  if (watch.bySqsMessage.has(s.sqsMessageId)) return true;
  const own = s.messageId ? watch.byMessage.get(s.messageId) ?? [] : [];
  return own.some((e) => e.seq > after && e.actor === s.agent && (e.type === 'tool.denied' || e.type === 'tool.executed'));
}

function judge(s: Sent, watch: LedgerWatch, after: number, deadLetters: readonly string[]): Outcome {
  const verdict = (v: Parameters<typeof outcome>[2], evidence: string, anomaly?: string) => outcome(s.class, s.name, v, evidence, anomaly);
  const since = (entries: readonly LedgerEntry[] | undefined) => (entries ?? []).filter((e) => e.seq > after && e.actor === s.agent);
  const own = s.messageId ? since(watch.byMessage.get(s.messageId)) : [];
  const executed = own.filter((e) => e.type === 'tool.executed');
  if (executed.length > 0) return verdict('success', `${s.agent} ran ${executed.map((e) => e.detail?.tool).join(', ')} for it`);

  const rejection = watch.bySqsMessage.get(s.sqsMessageId);
  const denied = own.filter((e) => e.type === 'tool.denied');
  const refusal = rejection ?? denied[0];
  if (refusal) {
    const reason = refusal.reason;
    const anomalies = [
      reason === undefined ? 'failed without a security reason' : !s.expected.includes(reason) ? `refused ${reason}, expected ${s.expected.join('|')}` : undefined,
      rejection && !deadLetters.includes(s.body) ? 'not in the dead-letter queue' : undefined,
    ].filter((a): a is string => a !== undefined);
    return verdict('blocked', `${refusal.type} ${reason ?? '(no reason)'} by ${refusal.actor}`, anomalies.length > 0 ? anomalies.join('; ') : undefined);
  }
  const acted = s.commandId ? since(watch.byCommand.get(s.commandId)).filter((e) => ACCEPTANCE.has(e.type)) : [];
  if (acted.length > 0) {
    const labelled = acted.map((e) => (e.type === 'command.completed' ? `${e.type} at ${String(e.detail?.label)}` : e.type));
    return verdict('success', `${s.agent} accepted it: ${[...new Set(labelled)].join(', ')}`);
  }
  return verdict('error', `no decision by ${s.agent} observed`);
}

function identifiers(body: string): { messageId?: string; commandId?: string } {
  try {
    const parsed = JSON.parse(body) as { id?: unknown; commandId?: unknown };
    return {
      ...(typeof parsed.id === 'string' ? { messageId: parsed.id } : {}),
      ...(typeof parsed.commandId === 'string' ? { commandId: parsed.commandId } : {}),
    };
  } catch {
    return {};
  }
}
