import { randomUUID } from 'node:crypto';
import { DirectiveRequestInput } from '../../functions/kernel/directives/request';
import { label } from '../../functions/kernel/labels';
import { ApiFixture, apiFixture, claimsOf, commandBody } from './support';
import { newDigestSalt } from '../../functions/kernel/keyed-digest';
import { voteChallenge } from '../../functions/kernel/directives/passkey-challenge';

let f: ApiFixture;

beforeAll(async () => {
  f = await apiFixture();
});

/** alice's command that allows prescribing, submitted through the API. */
async function prescribingCommand(): Promise<string> {
  const res = await f.call({
    method: 'POST',
    path: '/v1/commands',
    claims: f.user('alice'),
    body: commandBody('prescribe Metformin for patient P-1001', 'SECRET', ['MEDICAL'], { allow: ['prescribe'] }),
  });
  expect(res.status).toBe(202);
  return res.body.commandId;
}

/** The analyst asks the real signer to prescribe: a critical tool, so the request waits for two approvers. */
async function pendingPrescription(commandId: string): Promise<string> {
  const requestId = randomUUID();
  const request: DirectiveRequestInput = {
    requestId,
    kind: 'tool',
    requester: 'analyst',
    commandId,
    target: 'analyst',
    tool: 'prescribe',
    args: { patientId: 'P-1001', drug: 'Metformin', doseMg: 500 },
    argsSalt: newDigestSalt(),
    label: label('SECRET', ['MEDICAL']),
  };
  const decision = await f.signer.request(request, 'analyst');
  expect(decision.status).toBe('pending');
  return requestId;
}

const list = (username: string) => f.call({ method: 'GET', path: '/v1/approvals', claims: f.user(username) });
const decide = (username: string, requestId: string, body: unknown) =>
  f.call({ method: 'POST', path: `/v1/approvals/${requestId}`, claims: f.user(username), body });

test('an approver lists pending requests with what they authorize: the tool and its arguments, opened at their clearance', async () => {
  const commandId = await prescribingCommand();
  const requestId = await pendingPrescription(commandId);
  const res = await list('carol');
  expect(res.status).toBe(200);
  const pending = res.body.find((p: { requestId: string }) => p.requestId === requestId);
  expect(pending).toMatchObject({
    requestId,
    kind: 'tool',
    commandId,
    requester: 'analyst',
    owner: 'alice',
    target: 'analyst',
    tool: 'prescribe',
    label: 'SECRET/MEDICAL',
    argsDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
    approvalsNeeded: 2,
    approvals: [],
    shown: { kind: 'tool', tool: 'prescribe', args: { patientId: 'P-1001', drug: 'Metformin', doseMg: 500 } },
  });
  expect(pending.digest).toBe(pending.argsDigest);
  // The approvals table itself holds the arguments only sealed.
  const { request } = await f.signer.approvals.load(requestId);
  expect(JSON.stringify(request)).not.toContain('Metformin');
});

test('a vote is bound to the digest of what the approver was shown: another digest is 409 and counts for nothing', async () => {
  const commandId = await prescribingCommand();
  const requestId = await pendingPrescription(commandId);
  const pending = (await list('carol')).body.find((p: { requestId: string }) => p.requestId === requestId);
  const stale = await decide('carol', requestId, { decision: 'approve', digest: 'f'.repeat(64) });
  expect(stale.status).toBe(409);
  expect(pending.digest).toMatch(/^[0-9a-f]{64}$/);
  const bound = await f.approveWithPasskey('carol', requestId);
  expect(bound.body).toMatchObject({ recorded: true, approvals: ['carol'] });
});

test('a user who is not an approver sees no pending approvals', async () => {
  const commandId = await prescribingCommand();
  await pendingPrescription(commandId);
  const res = await list('alice');
  expect(res.status).toBe(200);
  expect(res.body).toEqual([]);
});

test('a user who is not an approver cannot approve (403, ledgered as directive.denied)', async () => {
  const commandId = await prescribingCommand();
  const requestId = await pendingPrescription(commandId);
  const res = await decide('alice', requestId, { decision: 'approve' });
  expect(res.status).toBe(403);
  expect(res.body.reason).toBe('NOT_AUTHORIZED');
  const denied = (await f.ledgerEntries()).filter((e) => e.type === 'directive.denied' && e.detail?.requestId === requestId);
  expect(denied).toHaveLength(1);
  expect((await list('carol')).body.find((p: { requestId: string }) => p.requestId === requestId).approvals).toEqual([]);
});

test('two distinct approvals reach the threshold: the signer signs and sends the directive; a later vote is 409', async () => {
  const commandId = await prescribingCommand();
  const requestId = await pendingPrescription(commandId);

  const first = await f.approveWithPasskey('carol', requestId, { reason: 'dose checked' });
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ requestId, commandId, recorded: true, approvals: ['carol'], approvalsNeeded: 2, status: 'pending' });

  // The same approver twice counts once.
  const again = await f.approveWithPasskey('carol', requestId);
  expect(again.body).toMatchObject({ recorded: false, approvals: ['carol'], status: 'pending' });
  expect(f.delivered.some((d) => d.requestId === requestId)).toBe(false);

  const second = await f.approveWithPasskey('dave', requestId);
  expect(second.status).toBe(200);
  expect(second.body).toMatchObject({ recorded: true, approvals: ['carol', 'dave'], status: 'signed' });
  expect(f.delivered.filter((d) => d.requestId === requestId)).toHaveLength(1);

  const late = await decide('carol', requestId, { decision: 'reject' });
  expect(late.status).toBe(409);
  expect((await list('carol')).body.some((p: { requestId: string }) => p.requestId === requestId)).toBe(false);

  const recorded = (await f.ledgerEntries()).filter((e) => e.type === 'approval.recorded' && e.detail?.requestId === requestId);
  expect(recorded.map((e) => e.actor)).toEqual(['carol', 'dave']);
  expect(JSON.stringify(recorded)).not.toContain('dose checked');
});

test('a rejection ends the request denied and the command denied', async () => {
  const commandId = await prescribingCommand();
  const requestId = await pendingPrescription(commandId);
  const res = await decide('dave', requestId, { decision: 'reject', reason: 'wrong patient' });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ requestId, decision: 'reject', status: 'denied' });
  expect(f.delivered.some((d) => d.requestId === requestId)).toBe(false);
  const command = await f.call({ method: 'GET', path: `/v1/commands/${commandId}`, claims: f.user('alice') });
  expect(command.body.status).toBe('denied');
});

test('an unknown request is 404 for an approver', async () => {
  const res = await decide('carol', randomUUID(), { decision: 'approve' });
  expect(res.status).toBe(404);
});

test.each([
  ['an unknown decision', { decision: 'maybe' }],
  ['no decision', {}],
  ['an unknown field', { decision: 'approve', approver: 'dave' }],
  ['an oversized reason', { decision: 'approve', reason: 'x'.repeat(201) }],
  ['bad JSON', '{"decision":'],
])('a malformed decision is 400: %s', async (_what, body) => {
  const res = await decide('carol', randomUUID(), body);
  expect(res.status).toBe(400);
  expect(res.body.reason).toBe('SCHEMA');
});

test('a malformed request id is 400', async () => {
  const res = await decide('carol', 'nope', { decision: 'approve' });
  expect(res.status).toBe(400);
});

describe('approvals people can trust (DESIGN §1, threat 6; §5)', () => {
  /** carol's own command, allowing the prescription the analyst then asks for. */
  async function carolsCommand(): Promise<string> {
    const res = await f.call({
      method: 'POST',
      path: '/v1/commands',
      claims: f.user('carol'),
      body: commandBody('prescribe Metformin for patient P-1001', 'SECRET', ['MEDICAL'], { allow: ['prescribe'] }),
    });
    expect(res.status).toBe(202);
    return res.body.commandId;
  }

  test('an approver cannot approve a request of their own command: 403, ledgered, not counted', async () => {
    const commandId = await carolsCommand();
    const requestId = await pendingPrescription(commandId);
    const res = await decide('carol', requestId, { decision: 'approve' });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/carol owns command/);
    const refused = (await f.ledgerEntries()).filter((e) => e.type === 'directive.denied' && e.detail?.requestId === requestId);
    expect(refused.map((e) => [e.reason, e.detail?.refused])).toEqual([['NOT_AUTHORIZED', 'SELF_APPROVAL']]);
    // dave alone is one person: the prescription still waits for a second approver who is not carol.
    expect((await f.approveWithPasskey('dave', requestId)).body).toMatchObject({ approvals: ['dave'], status: 'pending' });
  });

  test("an approver whose token's clearance does not dominate what they approve is refused (ABOVE_CLEARANCE)", async () => {
    const commandId = await prescribingCommand();
    const requestId = await pendingPrescription(commandId);
    // carol's token today says CONFIDENTIAL: lower than the topology allows, so she signs in, but cannot approve SECRET/MEDICAL.
    const res = await f.call({ method: 'POST', path: `/v1/approvals/${requestId}`, claims: claimsOf('carol', label('CONFIDENTIAL')), body: { decision: 'approve' } });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/not cleared for SECRET\/MEDICAL/);
    const refused = (await f.ledgerEntries()).filter((e) => e.type === 'directive.denied' && e.detail?.requestId === requestId);
    expect(refused.map((e) => [e.reason, e.detail?.refused])).toEqual([['READ_UP', 'ABOVE_CLEARANCE']]);
  });

  test.each([
    ['a user the topology does not list, claiming TOP_SECRET', claimsOf('mallory', label('TOP_SECRET', ['FINANCE', 'MEDICAL']))],
    ['a listed name in another case', claimsOf('Alice', label('TOP_SECRET', ['FINANCE', 'MEDICAL']))],
  ])('%s is refused 403 and the refusal is ledgered', async (_what, claims) => {
    const res = await f.call({ method: 'POST', path: '/v1/commands', claims, body: commandBody('hello', 'UNCLASSIFIED') });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/is not a user of this system/);
    const refused = (await f.ledgerEntries()).filter((e) => e.type === 'message.rejected' && e.detail?.principal === claims['cognito:username']);
    expect(refused.length).toBeGreaterThan(0);
  });
});

describe('votes signed by the person, through the API (DESIGN §5)', () => {
  test('an approval without a passkey is 403 with where to approve instead, ledgered, and counts for nothing', async () => {
    const commandId = await prescribingCommand();
    const requestId = await pendingPrescription(commandId);
    const res = await decide('carol', requestId, { decision: 'approve' });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ reason: 'NOT_AUTHORIZED', message: expect.stringMatching(/signed with carol's passkey \(approve it in the console\)/) });
    const refused = (await f.ledgerEntries()).filter((e) => e.type === 'directive.denied' && e.detail?.requestId === requestId);
    expect(refused.map((e) => e.detail?.refused)).toEqual(['PASSKEY_REQUIRED']);
    expect((await list('carol')).body.find((p: { requestId: string }) => p.requestId === requestId).approvals).toEqual([]);
  });

  test("a pending request offers the approver's own passkey, over a challenge that is the approval's digest", async () => {
    const carol = await f.passkeyOf('carol');
    const commandId = await prescribingCommand();
    const requestId = await pendingPrescription(commandId);
    const item = (await list('carol')).body.find((p: { requestId: string }) => p.requestId === requestId);
    expect(item.passkey).toEqual({
      required: true,
      options: expect.objectContaining({ rpId: 'localhost', userVerification: 'required', allowCredentials: [expect.objectContaining({ id: carol.credentialId })] }),
    });
    expect(item.passkey.options.challenge).toBe(voteChallenge({ requestId, commandId, digest: item.digest, decision: 'approve' }));
  });

  test('an assertion that does not verify is 403 UNAUTHENTICATED', async () => {
    const dave = await f.passkeyOf('dave');
    const commandId = await prescribingCommand();
    const requestId = await pendingPrescription(commandId);
    const item = (await list('carol')).body.find((p: { requestId: string }) => p.requestId === requestId);
    await f.passkeyOf('carol');
    const res = await decide('carol', requestId, { decision: 'approve', digest: item.digest, passkey: dave.sign({ ...item.passkey.options, allowCredentials: [] }) });
    expect(res.status).toBe(403);
    expect(res.body.reason).toBe('UNAUTHENTICATED');
  });

  test('GET /v1/me says who the caller is and whether they have a passkey', async () => {
    await f.passkeyOf('carol');
    expect((await f.call({ method: 'GET', path: '/v1/me', claims: f.user('carol') })).body).toEqual({
      username: 'carol',
      clearance: 'SECRET/MEDICAL',
      approver: true,
      passkey: { registered: true, createdAt: expect.any(String) },
    });
    expect((await f.call({ method: 'GET', path: '/v1/me', claims: f.user('bob') })).body).toMatchObject({ username: 'bob', approver: false, passkey: { registered: false } });
    const registered = (await f.ledgerEntries()).filter((e) => e.type === 'passkey.registered');
    expect(registered.map((e) => [e.actor, e.detail?.username])).toContainEqual(['signer', 'carol']);
  });

  test('passkeys are for approvers, one each: a non-approver is 403, a second registration 409', async () => {
    const options = await f.call({ method: 'POST', path: '/v1/passkeys/options', claims: f.user('alice') });
    expect(options.status).toBe(403);
    const registered = await f.call({ method: 'POST', path: '/v1/passkeys', claims: f.user('alice'), body: { response: { id: 'x' } } });
    expect(registered.status).toBe(403);
    await f.passkeyOf('dave');
    expect((await f.call({ method: 'POST', path: '/v1/passkeys/options', claims: f.user('dave') })).status).toBe(409);
  });

  test('a malformed registration is 400 and stores nothing', async () => {
    const res = await f.call({ method: 'POST', path: '/v1/passkeys', claims: f.user('carol'), body: { response: 'not a credential' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ reason: 'SCHEMA', message: expect.stringMatching(/response/) });
  });
});
