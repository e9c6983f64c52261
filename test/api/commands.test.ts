import { randomUUID } from 'node:crypto';
import { label } from '../../functions/kernel/labels';
import { openIntent, sealedIntentSchema } from '../../functions/kernel/directives/intent';
import { ApiFixture, apiFixture, claimsOf, commandBody } from './support';

const SECRET_TEXT = 'Check patient Johanna Vasquez, door code 4471, for drug interactions';

let f: ApiFixture;

beforeAll(async () => {
  f = await apiFixture();
});

beforeEach(async () => {
  await f.drainCoreQueue();
});

const submit = (username: string, body: unknown, headers?: Record<string, string>) =>
  f.call({ method: 'POST', path: '/v1/commands', claims: f.user(username), body, headers });

describe('POST /v1/commands', () => {
  test('declassifyTo is a whole label: given as {level, compartments} it is stored as label text, as given', async () => {
    const res = await submit('alice', commandBody('hi', 'SECRET', ['MEDICAL'], { declassifyTo: { level: 'CONFIDENTIAL', compartments: [] } }));
    expect(res.status).toBe(202);
    expect(await f.commandItem(res.body.commandId)).toMatchObject({ declassifyTo: 'CONFIDENTIAL' });
  });

  test('a command is accepted with 202, stored only encrypted, ledgered, and sent to core as one task core can open', async () => {
    const res = await submit('alice', commandBody(SECRET_TEXT, 'SECRET', ['MEDICAL'], { allow: ['send_email', 'prescribe'], declassifyTo: 'CONFIDENTIAL' }));
    expect(res.status).toBe(202);
    expect(res.headers['content-type']).toBe('application/json');
    const { commandId } = res.body;
    expect(commandId).toMatch(/^[0-9a-f-]{36}$/);

    const item = (await f.commandItem(commandId))!;
    expect(item).toMatchObject({
      commandId,
      owner: 'alice',
      ownerClearance: 'TOP_SECRET/FINANCE+MEDICAL',
      label: 'SECRET/MEDICAL',
      allow: ['prescribe', 'send_email'],
      // A bare level keeps the command's compartments: it never drops MEDICAL (DESIGN §6).
      declassifyTo: 'CONFIDENTIAL/MEDICAL',
      status: 'queued',
    });
    // The item holds no plaintext: not the text, not any distinctive part of it.
    const stored = JSON.stringify(item);
    for (const fragment of ['Johanna', 'Vasquez', '4471', 'interactions']) expect(stored).not.toContain(fragment);

    const bodies = await f.drainCoreQueue();
    expect(bodies).toHaveLength(1);
    for (const fragment of ['Johanna', '4471']) expect(bodies[0]).not.toContain(fragment);
    const received = await f.receiveAsCore(bodies[0]);
    expect(received.plaintext.toString('utf8')).toBe(SECRET_TEXT);
    expect(received.message).toMatchObject({ from: 'api', to: 'core', kind: 'task', commandId, principal: 'alice', id: item.textMessageId });
    expect(received.message.ciphertext).toBe(item.textCiphertext);

    const entries = (await f.ledgerEntries()).filter((e) => e.commandId === commandId);
    expect(entries.map((e) => e.type)).toEqual(['command.accepted']);
    expect(entries[0]).toMatchObject({ actor: 'api', messageId: item.textMessageId, detail: { principal: 'alice', label: 'SECRET/MEDICAL' } });
    expect(JSON.stringify(entries[0])).not.toContain('Johanna');
  });

  test('a user cannot classify a command above their clearance (403 NOT_AUTHORIZED, ledgered, nothing stored or sent)', async () => {
    const before = await f.ledgerEntries();
    const res = await submit('bob', commandBody('summarize the budget', 'SECRET'));
    expect(res.status).toBe(403);
    expect(res.body.reason).toBe('NOT_AUTHORIZED');
    expect(await f.drainCoreQueue()).toHaveLength(0);
    const added = (await f.ledgerEntries()).slice(before.length);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ type: 'message.rejected', actor: 'api', reason: 'NOT_AUTHORIZED', detail: { principal: 'bob', label: 'SECRET' } });
  });

  test('a user cannot classify a command in a compartment they lack (403)', async () => {
    // carol is SECRET/MEDICAL: the level is fine, the FINANCE compartment is not hers.
    const res = await submit('carol', commandBody('quarterly figures', 'CONFIDENTIAL', ['FINANCE']));
    expect(res.status).toBe(403);
    expect(res.body.reason).toBe('NOT_AUTHORIZED');
    expect(await f.drainCoreQueue()).toHaveLength(0);
  });

  test.each([
    ['bad JSON', '{"text": "hi", '],
    ['an empty body', ''],
    ['a JSON array', '[]'],
    ['an unknown field', commandBody('hi', 'SECRET', [], { priority: 'now' })],
    ['an empty text', commandBody('', 'SECRET')],
    ['a whitespace-only text', commandBody(' \n\t ', 'SECRET')],
    ['an oversized text', commandBody('x'.repeat(16 * 1024 + 1), 'SECRET')],
    ['an oversized multi-byte text', commandBody('é'.repeat(8 * 1024 + 1), 'SECRET')],
    ['a lone surrogate in the text', commandBody('broken \ud800 text', 'SECRET')],
    ['a text that is not a string', { text: 42, classification: { level: 'SECRET', compartments: [] } }],
    ['a missing classification', { text: 'hi' }],
    ['an unknown level', commandBody('hi', 'COSMIC')],
    ['a lower-case level', commandBody('hi', 'secret')],
    ['an unknown compartment', commandBody('hi', 'SECRET', ['NUCLEAR'])],
    ['a malformed compartment', commandBody('hi', 'SECRET', ['medical'])],
    ['an unknown field in the classification', { text: 'hi', classification: { level: 'SECRET', compartments: [], owner: 'x' } }],
    ['an unknown tool', commandBody('hi', 'SECRET', [], { allow: ['launch_missiles'] })],
    ['allow not a list', commandBody('hi', 'SECRET', [], { allow: 'send_email' })],
    ['an unknown declassifyTo level', commandBody('hi', 'SECRET', [], { declassifyTo: 'PUBLIC' })],
    ['a compartment named twice', commandBody('hi', 'SECRET', ['MEDICAL', 'MEDICAL'])],
    ['a declassifyTo above the command', commandBody('hi', 'CONFIDENTIAL', [], { declassifyTo: 'SECRET' })],
    ['a declassifyTo beside the command (another compartment)', commandBody('hi', 'SECRET', ['MEDICAL'], { declassifyTo: { level: 'CONFIDENTIAL', compartments: ['FINANCE'] } })],
    ['a declassifyTo label with an unknown compartment', commandBody('hi', 'SECRET', [], { declassifyTo: { level: 'CONFIDENTIAL', compartments: ['NUCLEAR'] } })],
    ['a declassifyTo label as text', commandBody('hi', 'SECRET', [], { declassifyTo: 'CONFIDENTIAL/MEDICAL' })],
  ])('malformed input is 400 SCHEMA: %s', async (_what, body) => {
    const res = await submit('alice', body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: expect.any(String), reason: 'SCHEMA' });
  });

  test.each([
    ['a capability for an unknown tool', { tool: 'launch_missiles' }],
    ['a capability with an unknown field', { tool: 'send_email', scope: 'everyone' }],
    ['a capability whose pattern does not compile', { tool: 'send_email', args: { to: { pattern: '(' } } }],
    ['a capability with zero uses', { tool: 'send_email', maxUses: 0 }],
  ])('malformed input is 400 SCHEMA: %s', async (_what, capability) => {
    const res = await submit('alice', commandBody('hi', 'SECRET', [], { allow: [capability] }));
    expect(res.status).toBe(400);
    expect(res.body.reason).toBe('SCHEMA');
  });

  test('capabilities are kept as given, sealed with the text for the signer alone, and ledgered by tool name only', async () => {
    const capability = { tool: 'send_email', args: { to: 'frontdesk@st-aldric-hospital.example' }, maxUses: 1 };
    const text = 'Tell the front desk the visiting hours.';
    const res = await submit('alice', commandBody(text, 'UNCLASSIFIED', [], { allow: [capability, 'prescribe'] }));
    expect(res.status).toBe(202);
    const { commandId } = res.body;
    const item = (await f.commandItem(commandId))!;
    expect(item.allow).toEqual(['prescribe', capability]);
    const intent = await openIntent(f.cipher, commandId, label('UNCLASSIFIED'), sealedIntentSchema.parse(item.intent));
    expect(intent).toEqual({ owner: 'alice', text, allow: [{ tool: 'prescribe' }, capability] });
    const [accepted] = (await f.ledgerEntries()).filter((e) => e.commandId === commandId);
    expect(accepted.detail).toMatchObject({ allow: 'prescribe,send_email' });
    expect(JSON.stringify(accepted)).not.toContain('frontdesk');
    const view = await f.call({ method: 'GET', path: `/v1/commands/${commandId}`, claims: f.user('alice') });
    expect(view.body.allow).toEqual([{ tool: 'prescribe' }, capability]);

    // A command that allows nothing and pre-authorizes nothing carries no intent: the signer grants it nothing.
    const plain = await submit('alice', commandBody(text, 'UNCLASSIFIED'));
    expect((await f.commandItem(plain.body.commandId))!.intent).toBeUndefined();
  });

  test('a refusal names the valid values', async () => {
    const res = await submit('alice', commandBody('hi', 'COSMIC'));
    expect(res.body.message).toMatch(/one of UNCLASSIFIED, CONFIDENTIAL, SECRET, TOP_SECRET/);
    const compartment = await submit('alice', commandBody('hi', 'SECRET', ['NUCLEAR']));
    expect(compartment.body.message).toMatch(/one of MEDICAL, FINANCE/);
  });

  test('a text of exactly 16 KiB is accepted', async () => {
    const res = await submit('alice', commandBody('x'.repeat(16 * 1024), 'UNCLASSIFIED'));
    expect(res.status).toBe(202);
  });
});

describe('identity from the token (fail closed)', () => {
  const body = commandBody('hello', 'UNCLASSIFIED');

  test('a request without a username claim is 401', async () => {
    const res = await f.call({ method: 'POST', path: '/v1/commands', claims: { 'custom:clearance': 'SECRET' }, body });
    expect(res.status).toBe(401);
  });

  test.each([
    ['no clearance claim', { 'cognito:username': 'erin' }],
    ['an unknown clearance level', { 'cognito:username': 'erin', 'custom:clearance': 'ULTRA' }],
    ['an unknown compartment', { 'cognito:username': 'erin', 'custom:clearance': 'SECRET', 'custom:compartments': 'MEDICAL,NUCLEAR' }],
  ])('a token with %s gets no default clearance: 403', async (_what, claims) => {
    const res = await f.call({ method: 'POST', path: '/v1/commands', claims, body });
    expect(res.status).toBe(403);
    expect(await f.drainCoreQueue()).toHaveLength(0);
  });

  test('a listed user claiming more than the topology grants is refused (403)', async () => {
    const res = await f.call({ method: 'POST', path: '/v1/commands', claims: claimsOf('bob', label('TOP_SECRET')), body: commandBody('x', 'SECRET') });
    expect(res.status).toBe(403);
  });
});

describe('GET /v1/commands/{id}', () => {
  const read = (username: string, commandId: string) => f.call({ method: 'GET', path: `/v1/commands/${commandId}`, claims: f.user(username) });

  test("another user's command and an unknown id get the same 404, so existence never leaks", async () => {
    const { body } = await submit('alice', commandBody('private plan', 'CONFIDENTIAL'));
    const own = await read('alice', body.commandId);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ commandId: body.commandId, status: 'queued', label: 'CONFIDENTIAL' });

    const foreign = await read('bob', body.commandId);
    const unknown = await read('bob', randomUUID());
    expect(foreign.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(foreign.raw).toBe(unknown.raw);
  });

  test('a malformed command id is 400', async () => {
    const res = await read('alice', 'not-a-uuid');
    expect(res.status).toBe(400);
    expect(res.body.reason).toBe('SCHEMA');
  });

  test('the owner reads a result their clearance dominates', async () => {
    const { body } = await submit('alice', commandBody('diagnose', 'SECRET', ['MEDICAL']));
    await f.completeAsCore(body.commandId, 'The answer is 42 mg.', label('SECRET', ['MEDICAL']));
    const res = await read('alice', body.commandId);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ commandId: body.commandId, status: 'completed', result: 'The answer is 42 mg.', resultLabel: 'SECRET/MEDICAL' });
    expect(res.body.resultWithheld).toBeUndefined();
  });

  test("a result above the owner's clearance is withheld (READ_UP), never decrypted into the response", async () => {
    const { body } = await submit('bob', commandBody('book me in', 'CONFIDENTIAL'));
    await f.completeAsCore(body.commandId, 'Booked for patient Johanna Vasquez', label('SECRET', ['MEDICAL']));
    const res = await read('bob', body.commandId);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('completed');
    expect(res.body.result).toBeUndefined();
    expect(res.body.resultWithheld).toEqual({ reason: 'READ_UP', label: 'SECRET/MEDICAL' });
    expect(res.raw).not.toContain('Johanna');
  });
});

describe('idempotency-key', () => {
  test('a retried POST with the same idempotency-key answers the same command and runs once', async () => {
    const key = randomUUID();
    const body = commandBody('order supplies', 'CONFIDENTIAL');
    const first = await submit('alice', body, { 'idempotency-key': key });
    const second = await submit('alice', body, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.commandId).toBe(first.body.commandId);
    expect(await f.drainCoreQueue()).toHaveLength(1);
    const accepted = (await f.ledgerEntries()).filter((e) => e.commandId === first.body.commandId && e.type === 'command.accepted');
    expect(accepted).toHaveLength(1);
  });

  test('the same key with a different request is a 409, never the other request’s command', async () => {
    const key = randomUUID();
    await submit('alice', commandBody('one thing', 'CONFIDENTIAL'), { 'idempotency-key': key });
    const res = await submit('alice', commandBody('another thing', 'CONFIDENTIAL'), { 'idempotency-key': key });
    expect(res.status).toBe(409);
    expect(res.body.commandId).toBeUndefined();
  });

  test("one user's idempotency-key never finds another user's command", async () => {
    const key = randomUUID();
    const body = commandBody('same words', 'UNCLASSIFIED');
    const alice = await submit('alice', body, { 'idempotency-key': key });
    const bob = await submit('bob', body, { 'idempotency-key': key });
    expect(bob.status).toBe(202);
    expect(bob.body.commandId).not.toBe(alice.body.commandId);
  });

  test('a malformed idempotency-key is 400', async () => {
    const res = await submit('alice', commandBody('x', 'UNCLASSIFIED'), { 'idempotency-key': 'x'.repeat(129) });
    expect(res.status).toBe(400);
  });
});
