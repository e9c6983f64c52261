import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { ApiClient, ApiRequestError } from '../cli/api-client';
import { Outcome, outcome } from './attempt';
import type { RedTeamCloud } from './cloud';
import { LedgerWatch } from './evidence';
import type { Scenarios } from './scenarios';
import { signerAs } from './arguments';
import { label } from '../functions/kernel/labels';
import { registrationChallenge, voteChallenge } from '../functions/kernel/directives/passkey-challenge';
import { SoftwareAuthenticator } from '../localstack/software-authenticator';
import { EnvelopeCipher } from '../functions/kernel/messages/envelope-cipher';
import { sealRequest } from '../functions/kernel/messages/sealed-request';
import { signerFromEnvironment } from '../functions/handlers/signer';
import { environmentFor } from '../localstack/handler-environment';

/**
 * Approval abuse (DESIGN §5: critical tools need k-of-n *distinct* human approvals recorded through the API):
 * votes by non-approvers, the same approver twice, votes smuggled into the table, votes on decided or unknown
 * requests. No pending prescription may be signed.
 */

type Vote = { decision: 'approve' | 'reject'; reason?: string; [extra: string]: unknown };

/** What the API answered: the JSON body, or the HTTP status of a refusal. */
async function vote(client: ApiClient, requestId: string, body: Vote): Promise<{ status: number; body?: Record<string, unknown> }> {
  return answerOf(client.request<Record<string, unknown>>('POST', `/v1/approvals/${requestId}`, body));
}

async function answerOf(call: Promise<Record<string, unknown>>): Promise<{ status: number; body?: Record<string, unknown> }> {
  try {
    return { status: 200, body: await call };
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
  const signed = (user: string, requestId: string, reason?: string) => answerOf(rt.passkeys.approve(user, requestId, reason));
  outcomes.push(...(await unsignedVotes(rt, q.requestId)));
  outcomes.push(...(await compromisedApi(rt, q.requestId, q.commandId)));
  await signed('carol', q.requestId);
  outcomes.push(stillPending('carol approves the same request twice', await signed('carol', q.requestId), ['carol'], false));
  rt.relogin('carol');
  outcomes.push(stillPending('carol approves a third time with a fresh token', await signed('carol', q.requestId, 'again'), ['carol'], false));
  outcomes.push(refusedWith("carol approves on dave's behalf (approver in the body)", 400, await vote(await as('carol'), q.requestId, { decision: 'approve', approver: 'dave' })));

  // Votes written straight into the approvals table count for nothing unless an approver of the topology cast them.
  for (const approver of ['mallory', 'alice', 'signer']) {
    await rt.doc.send(new PutCommand({ TableName: rt.state.tables.approvals, Item: { requestId: r.requestId, approver, decision: 'approve', recordedAt: new Date().toISOString() } }));
  }
  outcomes.push(stillPending('non-approver votes smuggled into the table, then carol approves', await signed('carol', r.requestId), ['carol'], true));

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
  const own = await answerOf(rt.passkeys.approve('carol', requestId));
  const stale = await vote(await rt.as('dave'), requestId, { decision: 'approve', digest: 'f'.repeat(64) });
  const judge = (name: string, got: { status: number }, status: number) =>
    got.status === status
      ? outcome('approvals', name, 'blocked', `HTTP ${status}`)
      : got.status < 400
        ? outcome('approvals', name, 'success', `the API accepted it (HTTP ${got.status})`)
        : outcome('approvals', name, 'blocked', `HTTP ${got.status}`, `expected HTTP ${status}`);
  return [judge('carol approves a request of her own command', own, 403), judge('dave votes for another digest than the request binds', stale, 409)];
}

/**
 * Votes signed by the person (DESIGN §5): an approval that is not the approver's passkey assertion over this very
 * vote counts for nothing, whoever forwards it: no assertion, another key's, one made for another request or
 * another site, and a second passkey added with a session of theirs. Each is run before carol's real approval of
 * the same request, so the request must still count nobody.
 */
async function unsignedVotes(rt: RedTeamCloud, requestId: string): Promise<Outcome[]> {
  const carol = await rt.as('carol');
  const item = (await carol.approvals()).find((p) => p.requestId === requestId) as { digest: string; passkey: { options: { challenge: string } } } | undefined;
  if (!item) return [outcome('approvals', 'unsigned votes', 'error', `carol does not see request ${requestId}`)];
  const own = await rt.passkeys.of('carol');
  const stranger = new SoftwareAuthenticator(rt.state.consoleUrl);
  stranger.register({ challenge: registrationChallenge('carol'), rp: { id: 'localhost', name: 'AgentSec' }, user: { id: 'Y2Fyb2w', name: 'carol', displayName: 'carol' }, pubKeyCredParams: [{ type: 'public-key', alg: -7 }] });
  const otherRequest = { ...item.passkey.options, challenge: voteChallenge({ requestId: randomUUID(), commandId: randomUUID(), digest: item.digest, decision: 'approve' }) };
  const attempts: [string, unknown][] = [
    ['carol approves without her passkey', undefined],
    ["carol's approval signed by a key that is not hers", stranger.sign({ ...item.passkey.options, allowCredentials: [] })],
    ["carol's passkey assertion for another request, replayed onto this one", own.sign(otherRequest as never)],
    ["carol's passkey assertion made on another site (phished)", own.sign(item.passkey.options as never, 'http://localhost:1')],
  ];
  const outcomes: Outcome[] = [];
  for (const [name, passkey] of attempts) {
    const got = await vote(carol, requestId, { decision: 'approve', digest: item.digest, ...(passkey ? { passkey } : {}) });
    outcomes.push(got.status === 403 ? outcome('approvals', name, 'blocked', 'HTTP 403') : outcome('approvals', name, got.status < 400 ? 'success' : 'blocked', `HTTP ${got.status}`, 'expected HTTP 403'));
  }
  const added = await answerOf(carol.registerPasskey(new SoftwareAuthenticator(rt.state.consoleUrl)) as Promise<never>);
  outcomes.push(
    added.status === 409
      ? outcome('approvals', 'a session of carol registers a second passkey for her', 'blocked', 'HTTP 409: one passkey per approver')
      : outcome('approvals', 'a session of carol registers a second passkey for her', added.status < 400 ? 'success' : 'blocked', `HTTP ${added.status}`),
  );
  return outcomes;
}

/**
 * A hostile API runtime (DESIGN §1, threat 4): it holds the API role's KMS rights, so it can seal votes and passkey
 * registrations `from` the API for any user. Votes are the person's signature, verified by the signer against the
 * passkey it stored, and a stored passkey is never replaced: whatever the API seals, no approval counts.
 */
async function compromisedApi(rt: RedTeamCloud, requestId: string, commandId: string): Promise<Outcome[]> {
  const env = { ...process.env, ...environmentFor(rt.state, { sendsTo: rt.topology.agentNames() }), AGENTSEC_CONSOLE_ORIGIN: rt.state.consoleUrl };
  const signer = signerFromEnvironment(env, rt.topology);
  const cipher = new EnvelopeCipher({ kms: rt.kms, keyArns: rt.state.keys });
  const fromApi = (body: object, id: string, command: string) => sealRequest(cipher, { from: 'api', to: 'signer', label: label('UNCLASSIFIED'), requestId: id, commandId: command, body });
  const { request } = await signer.approvals.load(requestId);
  const digest = request?.argsDigest ?? '';
  const own = new SoftwareAuthenticator(rt.state.consoleUrl);
  const registration = own.register({ challenge: registrationChallenge('carol'), rp: { id: 'localhost', name: 'AgentSec' }, user: { id: 'Y2Fyb2w', name: 'carol', displayName: 'carol' }, pubKeyCredParams: [{ type: 'public-key', alg: -7 }] });
  const forged = own.sign({ challenge: voteChallenge({ requestId, commandId, digest, decision: 'approve' }), rpId: 'localhost' });
  const outcomes: Outcome[] = [];
  const judge = (name: string, answer: { status: string; code?: string }, code: string) =>
    outcomes.push(
      answer.status === 'refused' && answer.code === code
        ? outcome('approvals', name, 'blocked', `refused by the signer: ${code}`)
        : outcome('approvals', name, answer.status === 'refused' ? 'blocked' : 'success', `the signer answered ${JSON.stringify(answer)}`, answer.status === 'refused' ? `expected ${code}` : undefined),
    );
  for (const approver of ['carol', 'dave']) {
    const vote = { kind: 'vote', requestId, commandId, approver, clearance: 'SECRET/MEDICAL', decision: 'approve', digest };
    judge(`a compromised API forwards ${approver}'s approval without a passkey`, await signer.vote(await fromApi(vote, requestId, commandId)), 'PASSKEY_REQUIRED');
  }
  judge(
    "a compromised API forwards carol's approval signed by a key it made",
    await signer.vote(await fromApi({ kind: 'vote', requestId, commandId, approver: 'carol', clearance: 'SECRET/MEDICAL', decision: 'approve', digest, passkey: forged }, requestId, commandId)),
    'PASSKEY_INVALID',
  );
  const registrationId = randomUUID();
  judge(
    'a compromised API registers its own passkey for carol',
    await signer.registerPasskey(await fromApi({ kind: 'passkey-registration', username: 'carol', response: registration }, registrationId, registrationId)),
    'PASSKEY_EXISTS',
  );
  return outcomes;
}
