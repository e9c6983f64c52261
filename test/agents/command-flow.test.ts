import { ApiRequestError } from '../../cli/api-client';
import { SECRET_MEDICAL, TestCloud, UNCLASSIFIED, run } from './support';

let cloud: TestCloud;
beforeAll(async () => {
  cloud = await TestCloud.start();
});
afterAll(() => cloud?.stop());

/** The request id of the approval `approver` sees for `commandId`, once the signer has opened it. */
async function pendingApproval(commandId: string, approver: string): Promise<string> {
  const client = await cloud.as(approver);
  for (let i = 0; i < 100; i++) {
    const list = (await client.approvals()) as Array<{ requestId: string; commandId: string }>;
    const found = list.find((a) => a.commandId === commandId);
    if (found) return found.requestId;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('no pending approval');
}

const status = async (p: Promise<unknown>) => p.then(() => 200, (err) => (err instanceof ApiRequestError ? err.status : 0));

describe('a command through core and the effectors (honest model)', () => {
  it('a SECRET/MEDICAL command flows end to end and the owner reads the labelled result', async () => {
    const alice = await cloud.as('alice');
    const view = await run(alice, { text: 'Ask the analyst to read_patient_record P-1001 and summarise the diagnosis.', classification: SECRET_MEDICAL });
    expect(view.status).toBe('completed');
    expect(view.resultLabel).toBe('SECRET/MEDICAL');
    expect(view.result).toContain('Type 2 diabetes');
    const types = (await cloud.ledger(view.commandId)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['command.accepted', 'message.sent', 'tool.executed', 'command.completed']));
  });

  it('two subtasks sent together and answered together: each task is sent once, and the answer composed once', async () => {
    const alice = await cloud.as('alice');
    const view = await run(alice, {
      text: 'Ask the analyst to read_patient_record P-1001. Ask the auditor to review the billing for P-1001.',
      classification: { level: 'SECRET', compartments: [] },
    });
    expect(view.status).toBe('completed');
    const entries = await cloud.ledger(view.commandId);
    const tasksTo = (agent: string) => entries.filter((e) => e.type === 'message.sent' && e.actor === 'core' && e.detail?.to === agent);
    expect(tasksTo('analyst')).toHaveLength(1);
    expect(tasksTo('auditor')).toHaveLength(1);
    expect(entries.filter((e) => e.type === 'command.completed')).toHaveLength(1);
    // Composed from both results, not as soon as the first one came back (a subtask still out reads `[agent: sent]`).
    expect(view.result).toContain('read_patient_record returned');
    expect(view.result).toContain('auditor returned "Summary:');
    expect(view.result).not.toMatch(/\[(analyst|auditor): sent\]/);
  });

  it('a user below the label cannot read the result, nor learn the command exists', async () => {
    const alice = await cloud.as('alice');
    const view = await run(alice, { text: 'Ask the analyst to read_patient_record P-1002.', classification: SECRET_MEDICAL });
    const bob = await cloud.as('bob');
    expect(await status(bob.command(view.commandId))).toBe(404);
  });

  it('a user cannot issue a command above their clearance (403)', async () => {
    const bob = await cloud.as('bob');
    expect(await status(bob.submit({ text: 'Ask the analyst to read_patient_record P-1001.', classification: SECRET_MEDICAL }))).toBe(403);
  });

  it('a result labelled above the owner is withheld from them', async () => {
    // bob (CONFIDENTIAL) gets a CONFIDENTIAL answer only; nothing he can trigger reads above it.
    const bob = await cloud.as('bob');
    const view = await run(bob, { text: 'Ask the scheduler what departments exist.', classification: { level: 'CONFIDENTIAL', compartments: [] } });
    expect(view.status).toBe('completed');
    expect(view.resultLabel).toBe('CONFIDENTIAL');
  });

  it('a write-down to edge by a release rule carries only the rule\'s text, and dropping MEDICAL waits for two approvals', async () => {
    const alice = await cloud.as('alice');
    const view = await run(
      alice,
      { text: 'Patient John Smith asked: edge, lookup_public_info about the car park level 2.', classification: SECRET_MEDICAL, declassifyTo: 'UNCLASSIFIED' },
      (v) => v.status === 'awaiting_approval',
    );
    expect(view.status).toBe('awaiting_approval');
    const requestId = await pendingApproval(view.commandId, 'carol');
    expect(await cloud.passkeys.approve('carol', requestId)).toMatchObject({ status: 'pending', approvalsNeeded: 2 });
    await cloud.passkeys.approve('dave', requestId);
    const done = await alice.waitFor(view.commandId, { timeoutMs: 30_000 });
    expect(done.status).toBe('completed');
    const entries = await cloud.ledger(view.commandId);
    expect(entries.some((e) => e.type === 'directive.signed')).toBe(true);
    expect(entries.some((e) => e.type === 'declassified')).toBe(true);
    const external = cloud.cloud.model.requests.filter((r) => r.text.includes('gpt-4o-mini'));
    expect(external.some((r) => r.text.includes('car parking on level 2 of the hospital car park'))).toBe(true);
    for (const r of external) expect(r.text).not.toContain('John Smith');
  });

  it('free text goes down only through a human, even when declassification was pre-authorized', async () => {
    const alice = await cloud.as('alice');
    const before = cloud.cloud.model.requests.length;
    const view = await run(
      alice,
      { text: 'patient john smith has HIV: edge, lookup_public_info about the cafeteria.', classification: SECRET_MEDICAL, declassifyTo: 'UNCLASSIFIED' },
      (v) => v.status === 'awaiting_approval',
    );
    expect(view.status).toBe('awaiting_approval');
    const newRequests = cloud.cloud.model.requests.slice(before);
    expect(newRequests.some((r) => r.text.includes('gpt-4o-mini'))).toBe(false);
  });

  it('without pre-authorization, writing down waits for a human (awaiting_approval) and nothing reaches edge', async () => {
    const alice = await cloud.as('alice');
    const before = cloud.cloud.model.requests.length;
    const view = await run(alice, { text: 'Patient Jane Roe: edge, lookup_public_info about the cafeteria.', classification: SECRET_MEDICAL }, (v) => v.status === 'awaiting_approval');
    expect(view.status).toBe('awaiting_approval');
    const newRequests = cloud.cloud.model.requests.slice(before);
    expect(newRequests.some((r) => r.text.includes('gpt-4o-mini'))).toBe(false);
  });

  it('an email is sent under a signed directive when the user allowed the tool', async () => {
    const alice = await cloud.as('alice');
    const view = await run(alice, { text: 'Ask edge to send_email to visitors@example.org about the new visiting hours.', classification: UNCLASSIFIED, allow: ['send_email'] });
    expect(view.status).toBe('completed');
    const executed = (await cloud.ledger(view.commandId)).find((e) => e.type === 'tool.executed');
    expect(executed?.directiveId).toBeDefined();
    expect((await cloud.outbox()).some((o) => o.tool === 'send_email' && o.commandId === view.commandId)).toBe(true);
  });
});

describe('critical tools need k-of-n distinct approvals', () => {
  const prescribe = { text: 'Ask the analyst to prescribe amoxicillin for P-1003.', classification: SECRET_MEDICAL, allow: ['prescribe'] };


  it('one approval is not enough, the same approver twice is not enough, two distinct approvers are', async () => {
    const alice = await cloud.as('alice');
    const view = await run(alice, prescribe, (v) => v.status === 'awaiting_approval');
    const requestId = await pendingApproval(view.commandId, 'carol');
    await cloud.passkeys.approve('carol', requestId);
    expect((await alice.command(view.commandId)).status).toBe('awaiting_approval');
    await cloud.passkeys.approve('carol', requestId).catch(() => undefined);
    expect((await alice.command(view.commandId)).status).toBe('awaiting_approval');
    expect((await cloud.outbox()).some((o) => o.commandId === view.commandId)).toBe(false);
    await cloud.passkeys.approve('dave', requestId);
    const done = await alice.waitFor(view.commandId, { timeoutMs: 30_000 });
    expect(done.status).toBe('completed');
    const effects = (await cloud.outbox()).filter((o) => o.commandId === view.commandId && o.tool === 'prescribe');
    expect(effects).toHaveLength(1);
  });

  it('a non-approver cannot approve', async () => {
    const alice = await cloud.as('alice');
    const view = await run(alice, prescribe, (v) => v.status === 'awaiting_approval');
    const requestId = await pendingApproval(view.commandId, 'carol');
    expect(await status(alice.decide(requestId, 'approve'))).toBe(403);
  });

  it('a rejection ends the command as denied', async () => {
    const alice = await cloud.as('alice');
    const view = await run(alice, prescribe, (v) => v.status === 'awaiting_approval');
    const requestId = await pendingApproval(view.commandId, 'dave');
    await (await cloud.as('dave')).decide(requestId, 'reject', 'not indicated');
    const done = await alice.waitFor(view.commandId, { timeoutMs: 20_000 });
    expect(done.status).toBe('denied');
    expect((await cloud.outbox()).some((o) => o.commandId === view.commandId)).toBe(false);
  });
});
