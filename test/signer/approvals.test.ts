import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { ApprovalError } from '../../functions/stores/approvals';
import { CommandStore } from '../../functions/stores/commands';
import { argsDigest } from '../../functions/kernel/directives/claims';
import { SignerFixture, prescribeRequest, signerEntries, signerFixture, decide } from './support';

let f: SignerFixture;
beforeAll(async () => {
  f = await signerFixture();
});

/** A pending `prescribe` request on a command that allowed it. */
async function pendingPrescription() {
  const commandId = await f.putCommand({ allow: ['prescribe'] });
  const req = prescribeRequest(commandId) as ReturnType<typeof prescribeRequest> & { requestId: string; args: unknown; argsSalt: string };
  const decision = await decide(f.signer, req);
  expect(decision).toMatchObject({ status: 'pending', requestId: req.requestId, approvalsNeeded: 2, approvals: [] });
  return { commandId, req, requestId: req.requestId };
}

const approve = (requestId: string, approver: string) => f.signer.approvals.recordApproval({ requestId, approver, decision: 'approve', passkey: true });
const types = async (commandId: string) => (await f.entriesFor(commandId)).map((e) => [e.type, e.actor, e.reason ?? null]);

describe('critical tools need k distinct human approvals (DESIGN §5)', () => {
  it('a critical request waits for approvals and is ledgered once as requested', async () => {
    const { commandId } = await pendingPrescription();
    expect(await types(commandId)).toEqual([['directive.requested', 'signer', null]]);
  });

  it('one approval is not enough', async () => {
    const { commandId, requestId } = await pendingPrescription();
    expect(await approve(requestId, 'carol')).toMatchObject({ recorded: true, approvals: ['carol'], ready: false });
    expect(await f.signer.resume(requestId)).toMatchObject({ status: 'pending', approvals: ['carol'] });
    expect(f.delivered.filter((d) => d.requestId === requestId)).toEqual([]);
    expect(await types(commandId)).toEqual([
      ['directive.requested', 'signer', null],
      ['approval.recorded', 'carol', null],
    ]);
  });

  it('the same approver twice is not enough', async () => {
    const { commandId, requestId } = await pendingPrescription();
    await approve(requestId, 'carol');
    expect(await approve(requestId, 'carol')).toMatchObject({ recorded: false, approvals: ['carol'], ready: false });
    expect(await f.signer.resume(requestId)).toMatchObject({ status: 'pending' });
    expect((await f.entriesFor(commandId)).filter((e) => e.type === 'approval.recorded')).toHaveLength(1);
  });

  it('two distinct approvers are enough: resume signs once, bound to the arguments, and delivers it', async () => {
    const { commandId, req, requestId } = await pendingPrescription();
    await approve(requestId, 'carol');
    expect(await approve(requestId, 'dave')).toMatchObject({ recorded: true, approvals: ['carol', 'dave'], ready: true });
    const decision = await f.signer.resume(requestId);
    if (decision.status !== 'signed') throw new Error(`expected a directive, got ${JSON.stringify(decision)}`);
    await expect(
      f.verifier().verify(decision.directive, { kind: 'tool', target: 'analyst', commandId, tool: 'prescribe', args: req.args, argsSalt: req.argsSalt, principal: 'alice' }),
    ).resolves.toMatchObject({ argsDigest: argsDigest(req.args, req.argsSalt) });
    expect(f.delivered.filter((d) => d.requestId === requestId)).toEqual([{ requestId, directiveId: decision.directive.claims.id }]);

    // Asking again (a retried invoke, the agent's own request) hands out the same directive, never a second.
    expect(await f.signer.resume(requestId)).toEqual(decision);
    expect(await decide(f.signer, req)).toEqual(decision);
    expect(f.delivered.filter((d) => d.requestId === requestId)).toHaveLength(1);
    expect(signerEntries(await f.entriesFor(commandId)).map((e) => [e.type, e.directiveId ?? null])).toEqual([
      ['directive.requested', null],
      ['directive.signed', decision.directive.claims.id],
    ]);
  });

  it('a delivery that failed is retried by the next resume', async () => {
    const { requestId } = await pendingPrescription();
    await approve(requestId, 'carol');
    await approve(requestId, 'dave');
    f.setDeliveryFailing(true);
    await expect(f.signer.resume(requestId)).rejects.toThrow('queue unavailable');
    f.setDeliveryFailing(false);
    const decision = await f.signer.resume(requestId);
    expect(decision.status).toBe('signed');
    expect(f.delivered.filter((d) => d.requestId === requestId)).toHaveLength(1);
  });

  it("a non-approver's approval does not count, and the attempt is ledgered as denied", async () => {
    const { commandId, requestId } = await pendingPrescription();
    await approve(requestId, 'carol');
    await expect(approve(requestId, 'alice')).rejects.toMatchObject({ reason: 'NOT_AUTHORIZED' });
    expect(await f.signer.resume(requestId)).toMatchObject({ status: 'pending', approvals: ['carol'] });
    const entries = await f.entriesFor(commandId);
    expect(entries.filter((e) => e.type === 'approval.recorded').map((e) => e.actor)).toEqual(['carol']);
    expect(entries.filter((e) => e.type === 'directive.denied').map((e) => [e.reason, e.detail?.approver])).toEqual([['NOT_AUTHORIZED', 'alice']]);
  });

  it('a vote written straight into the table by a non-approver does not count', async () => {
    const { requestId } = await pendingPrescription();
    await f.doc.send(new PutCommand({ TableName: f.tables.approvals, Item: { requestId, approver: 'alice', decision: 'approve' } }));
    await approve(requestId, 'carol');
    expect(await f.signer.resume(requestId)).toMatchObject({ status: 'pending', approvals: ['carol'] });
  });

  it('a rejection ends the command as denied', async () => {
    const { commandId, requestId } = await pendingPrescription();
    await approve(requestId, 'carol');
    const rejected = await f.signer.approvals.recordApproval({ requestId, approver: 'dave', decision: 'reject', reason: 'wrong dose for patient Smith' });
    expect(rejected).toMatchObject({ recorded: true, rejected: true, ready: true });
    expect(await f.signer.resume(requestId)).toMatchObject({ status: 'denied', reason: 'NOT_AUTHORIZED' });
    expect(await f.commandStatus(commandId)).toBe('denied');
    const denied = signerEntries(await f.entriesFor(commandId)).filter((e) => e.type === 'directive.denied');
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ reason: 'NOT_AUTHORIZED', detail: { rejected: true, commandDenied: true } });
    expect(JSON.stringify(await f.entriesFor(commandId))).not.toContain('Smith');
    // Decided is decided: further votes are refused, and asking again changes nothing.
    await expect(approve(requestId, 'carol')).rejects.toBeInstanceOf(ApprovalError);
    expect(await f.signer.resume(requestId)).toMatchObject({ status: 'denied' });
    expect(signerEntries(await f.entriesFor(commandId)).filter((e) => e.type === 'directive.denied')).toHaveLength(1);
  });

  it('an approver may turn an approval into a rejection, never the reverse', async () => {
    const { requestId } = await pendingPrescription();
    await approve(requestId, 'carol');
    expect(await f.signer.approvals.recordApproval({ requestId, approver: 'carol', decision: 'reject' })).toMatchObject({ recorded: true, rejected: true });
    expect(await approve(requestId, 'carol')).toMatchObject({ recorded: false, rejected: true, approvals: [] });
    const { votes } = await f.signer.approvals.load(requestId);
    expect(votes).toEqual([{ approver: 'carol', decision: 'reject' }]);
  });

  it('a rejection never revives or rewrites a finished command', async () => {
    const { commandId, requestId } = await pendingPrescription();
    await f.signer.approvals.recordApproval({ requestId, approver: 'carol', decision: 'reject' });
    await f.doc.send(new PutCommand({ TableName: f.tables.commands, Item: { commandId, owner: 'alice', ownerClearance: 'TOP_SECRET/FINANCE+MEDICAL', label: 'CONFIDENTIAL', allow: ['prescribe'], status: 'completed' } }));
    expect(await f.signer.resume(requestId)).toMatchObject({ status: 'denied' });
    expect(await f.commandStatus(commandId)).toBe('completed');
  });

  it('a finished command is never moved to denied', async () => {
    const records = new CommandStore(f.doc, f.tables.commands);
    for (const status of ['completed', 'failed', 'denied']) {
      const commandId = await f.putCommand({ status });
      expect(await records.transition(commandId, ['queued', 'running', 'awaiting_approval'], 'denied', 'NOT_AUTHORIZED')).toBe(false);
      expect(await f.commandStatus(commandId)).toBe(status);
    }
    const live = await f.putCommand({ status: 'awaiting_approval' });
    expect(await records.transition(live, ['queued', 'running', 'awaiting_approval'], 'denied', 'NOT_AUTHORIZED')).toBe(true);
    expect(await f.commandStatus(live)).toBe('denied');
  });

  it('approvals do not outlive their command: a command that finished meanwhile gets no directive', async () => {
    const { commandId, requestId } = await pendingPrescription();
    await approve(requestId, 'carol');
    await approve(requestId, 'dave');
    await f.doc.send(new PutCommand({ TableName: f.tables.commands, Item: { commandId, owner: 'alice', ownerClearance: 'TOP_SECRET/FINANCE+MEDICAL', label: 'CONFIDENTIAL', allow: ['prescribe'], status: 'failed' } }));
    expect(await f.signer.resume(requestId)).toMatchObject({ status: 'denied', reason: 'NOT_AUTHORIZED' });
  });

  it('a critical tool the command did not allow is denied at once, whatever the approvals', async () => {
    const commandId = await f.putCommand({ allow: [] });
    expect(await decide(f.signer, prescribeRequest(commandId))).toMatchObject({ status: 'denied', reason: 'NOT_AUTHORIZED' });
    expect(await f.signer.approvals.listPending()).not.toContainEqual(expect.objectContaining({ commandId }));
  });

  it('a request id names one request: reusing it for other arguments is refused', async () => {
    const { commandId, req } = await pendingPrescription();
    const other = { ...req, args: { drug: 'Fentanyl', doseMg: 5000 } };
    expect(await decide(f.signer, other)).toMatchObject({ status: 'denied', reason: 'BINDING_MISMATCH' });
    expect(await decide(f.signer, req)).toMatchObject({ status: 'pending' });
    expect(signerEntries(await f.entriesFor(commandId)).map((e) => [e.type, e.reason ?? null])).toEqual([
      ['directive.requested', null],
      ['directive.denied', 'BINDING_MISMATCH'],
    ]);
  });

  it('voting on a request that does not exist, or is already decided, is a clear error', async () => {
    await expect(approve('7b0bd0f5-8f5d-4a70-9d52-1d3c2f7a0c11', 'carol')).rejects.toMatchObject({ code: 'UNKNOWN_REQUEST' });
    const { requestId } = await pendingPrescription();
    await approve(requestId, 'carol');
    await approve(requestId, 'dave');
    await f.signer.resume(requestId);
    await expect(approve(requestId, 'carol')).rejects.toMatchObject({ code: 'ALREADY_DECIDED' });
  });

  it('the pending list shows what is asked with a digest, never the arguments', async () => {
    const { commandId, req, requestId } = await pendingPrescription();
    await approve(requestId, 'dave');
    const listed = (await f.signer.approvals.listPending()).find((p) => p.requestId === requestId);
    expect(listed).toMatchObject({
      requestId, kind: 'tool', commandId, tool: 'prescribe', target: 'analyst', requester: 'analyst',
      label: { level: 'SECRET', compartments: ['MEDICAL'] }, approvalsNeeded: 2, approvals: ['dave'], argsDigest: argsDigest(req.args, req.argsSalt),
    });
    const everything = JSON.stringify(await f.signer.approvals.listPending());
    expect(everything).not.toContain('amoxicillin-secret-dose');
  });
});
