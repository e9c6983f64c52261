import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { ApiClient, ApiRequestError } from '../cli/api-client';
import { Outcome, outcome } from './attempt';
import type { RedTeamCloud } from './cloud';
import { LedgerWatch } from './evidence';
import type { Scenarios } from './scenarios';
import { signerAs } from './arguments';
import { label } from '../functions/kernel/labels';

/**
 * Approval abuse (DESIGN §5: critical tools need k-of-n *distinct* human approvals recorded through the API):
 * votes by non-approvers, the same approver twice, votes smuggled into the table, votes on decided or unknown
 * requests. No pending prescription may be signed.
 */

type Vote = { decision: 'approve' | 'reject'; reason?: string; [extra: string]: unknown };

/** What the API answered: the JSON body, or the HTTP status of a refusal. */
async function vote(client: ApiClient, requestId: string, body: Vote): Promise<{ status: number; body?: Record<string, unknown> }> {
  try {
    return { status: 200, body: await client.request<Record<string, unknown>>('POST', `/v1/approvals/${requestId}`, body) };
  } catch (err) {
    if (err instanceof ApiRequestError) return { status: err.status };
    throw err;
  }
}

export async function runApprovals(rt: RedTeamCloud, s: Scenarios): Promise<Outcome[]> {
  const [, , , p, q, r] = s.pending;
  const as = (u: string) => rt.as(u);
  const refusedWith = (name: string, status: number, got: { status: number }) =>
    got.status === status
      ? outcome('approvals', name, 'blocked', `HTTP ${status}`)
      : got.status < 400
        ? outcome('approvals', name, 'success', `the API accepted it (HTTP ${got.status})`)
        : outcome('approvals', name, 'blocked', `HTTP ${got.status}`, `expected HTTP ${status}`);
  /** The vote left the request pending with exactly `approvals` counted (`recorded` as expected). */
  const stillPending = (name: string, got: { status: number; body?: Record<string, unknown> }, approvals: string[], recorded: boolean) =>
    got.status === 200 && got.body?.recorded === recorded && got.body.status === 'pending' && sameList(got.body.approvals, approvals)
      ? outcome('approvals', name, 'blocked', `recorded: ${recorded}; still pending, counting only [${approvals.join(', ')}]`)
      : got.status === 200 && got.body?.status !== 'pending'
        ? outcome('approvals', name, 'success', `the request became ${String(got.body?.status)}`)
        : outcome('approvals', name, got.status >= 400 ? 'blocked' : 'success', `HTTP ${got.status} ${JSON.stringify(got.body ?? {})}`);

  const outcomes: Outcome[] = [];
  for (const user of ['alice', 'bob']) {
    for (const decision of ['approve', 'reject'] as const) {
      outcomes.push(refusedWith(`${user} (not an approver) votes ${decision}`, 403, await vote(await as(user), p.requestId, { decision })));
    }
  }
  await vote(await as('carol'), q.requestId, { decision: 'approve' });
  outcomes.push(stillPending('carol approves the same request twice', await vote(await as('carol'), q.requestId, { decision: 'approve' }), ['carol'], false));
  rt.relogin('carol');
  outcomes.push(stillPending('carol approves a third time with a fresh token', await vote(await as('carol'), q.requestId, { decision: 'approve', reason: 'again' }), ['carol'], false));
  outcomes.push(refusedWith("carol approves on dave's behalf (approver in the body)", 400, await vote(await as('carol'), q.requestId, { decision: 'approve', approver: 'dave' })));

  // Votes written straight into the approvals table count for nothing unless an approver of the topology cast them.
  for (const approver of ['mallory', 'alice', 'signer']) {
    await rt.doc.send(new PutCommand({ TableName: rt.state.tables.approvals, Item: { requestId: r.requestId, approver, decision: 'approve', recordedAt: new Date().toISOString() } }));
  }
  outcomes.push(stillPending('non-approver votes smuggled into the table, then carol approves', await vote(await as('carol'), r.requestId, { decision: 'approve' }), ['carol'], true));

  outcomes.push(refusedWith('a vote on an unknown request', 404, await vote(await as('dave'), randomUUID(), { decision: 'approve' })));
  outcomes.push(refusedWith('a vote on a request already signed', 409, await vote(await as('dave'), s.used.call.requestId, { decision: 'approve' })));
  outcomes.push(refusedWith('a vote with no decision', 400, await vote(await as('dave'), q.requestId, { decision: 'maybe' as never })));
  const listed = await (await as('bob')).approvals();
  outcomes.push(
    listed.length === 0
      ? outcome('approvals', 'bob (not an approver) lists what waits for approval', 'blocked', 'empty list')
      : outcome('approvals', 'bob (not an approver) lists what waits for approval', 'success', `saw ${listed.length} pending requests`),
  );

  outcomes.push(...(await secondPerson(rt)));

  // Whatever the answers said, none of these requests may have been signed.
  await rt.quiesce();
  const watch = await new LedgerWatch(rt).refresh();
  for (const call of [p, q, r]) {
    const signed = watch.of(call.commandId).filter((e) => e.type === 'directive.signed' && e.detail?.requestId === call.requestId);
    if (signed.length > 0) outcomes.push(outcome('approvals', `request ${call.requestId}`, 'success', 'signed without two distinct approvers'));
  }
  const deniedVotes = watch.all().filter((e) => e.type === 'directive.denied' && e.reason === 'NOT_AUTHORIZED' && e.detail?.requestId === p.requestId);
  if (deniedVotes.length < 4) {
    outcomes.push(outcome('approvals', 'non-approver votes are ledgered', 'error', `${deniedVotes.length} of 4 refused votes have a directive.denied entry`));
  }
  return outcomes;
}

function sameList(value: unknown, expected: string[]): boolean {
  return Array.isArray(value) && value.length === expected.length && value.every((v, i) => v === expected[i]);
}

/**
 * One person is not two (DESIGN §1, threat 6): carol, an approver, submits a command allowing a prescription the
 * analyst then asks for, and approves it herself; dave votes for another digest than the request binds. Neither
 * vote may count.
 */
async function secondPerson(rt: RedTeamCloud): Promise<Outcome[]> {
  const carol = await rt.as('carol');
  const { commandId } = await carol.submit({
    text: 'Ask the analyst to prescribe Letrozole for P-1003.',
    classification: { level: 'SECRET', compartments: ['MEDICAL'] },
    allow: ['prescribe'],
  });
  const { requestId, decision } = await signerAs(rt)('analyst', commandId, 'prescribe', { patientId: 'P-1003', drug: 'Letrozole', doseMg: 2.5 }, label('SECRET', ['MEDICAL']));
  if (decision.status !== 'pending') return [outcome('approvals', 'self-approval', 'error', `the prescription is not pending: ${JSON.stringify(decision)}`)];
  const own = await vote(carol, requestId, { decision: 'approve' });
  const stale = await vote(await rt.as('dave'), requestId, { decision: 'approve', digest: 'f'.repeat(64) });
  const judge = (name: string, got: { status: number }, status: number) =>
    got.status === status
      ? outcome('approvals', name, 'blocked', `HTTP ${status}`)
      : got.status < 400
        ? outcome('approvals', name, 'success', `the API accepted it (HTTP ${got.status})`)
        : outcome('approvals', name, 'blocked', `HTTP ${got.status}`, `expected HTTP ${status}`);
  return [judge('carol approves a request of her own command', own, 403), judge('dave votes for another digest than the request binds', stale, 409)];
}
