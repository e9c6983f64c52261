import { randomUUID } from 'node:crypto';
import { label } from '../../functions/kernel/labels';
import { sealRequest } from '../../functions/kernel/messages/sealed-request';
import { handleSignerEvent } from '../../functions/handlers/signer';
import { SignerFixture, declassifyRequest, decide, prescribeRequest, scheduleRequest, signerFixture } from './support';

/**
 * DESIGN §1 "identity is never self-declared", §5: the signer learns who asks from KMS (the request is sealed
 * `from` the requester, which IAM pins to the requester's role), never from the `requester` field alone.
 */
let f: SignerFixture;
beforeAll(async () => {
  f = await signerFixture();
});

const denialsOf = async (commandId: string) =>
  (await f.entriesFor(commandId)).filter((e) => e.type === 'directive.denied').map((e) => ({ reason: e.reason, requester: e.detail?.requester }));

describe('requests to the signer are authenticated', () => {
  it('a request sealed by its requester is decided on its merits', async () => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const decision = await handleSignerEvent(await f.seal(scheduleRequest(commandId)), f.signer);
    expect(decision).toMatchObject({ status: 'signed' });
  });

  it('the signer refuses a request whose claimed requester differs from the authenticated one, and ledgers it', async () => {
    // Edge's runtime files a prescription as the analyst: it can seal only as edge.
    const commandId = await f.putCommand({ allow: ['prescribe'] });
    const forged = prescribeRequest(commandId);
    const decision = await handleSignerEvent(await f.seal(forged, 'edge'), f.signer);
    expect(decision).toMatchObject({ status: 'denied', reason: 'IMPERSONATION' });
    expect(await denialsOf(commandId)).toEqual([{ reason: 'IMPERSONATION', requester: 'edge' }]);
    // Nothing waits for approval and the victim's command goes on.
    expect(await f.signer.approvals.load(forged.requestId)).toMatchObject({ request: undefined });
    expect(await f.commandStatus(commandId)).toBe('running');
  });

  it('a declassification cannot be obtained as core by another agent', async () => {
    const commandId = await f.putCommand({ declassifyTo: 'CONFIDENTIAL' });
    const decision = await handleSignerEvent(await f.seal(declassifyRequest(commandId), 'scheduler'), f.signer);
    expect(decision).toMatchObject({ status: 'denied', reason: 'IMPERSONATION' });
  });

  it('an unsealed request is refused UNAUTHENTICATED, without ledgering its self-declared requester', async () => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const decision = await handleSignerEvent(scheduleRequest(commandId), f.signer);
    expect(decision).toMatchObject({ status: 'denied', reason: 'UNAUTHENTICATED' });
    expect(await denialsOf(commandId)).toEqual([{ reason: 'UNAUTHENTICATED', requester: undefined }]);
  });

  it('a sealed request re-addressed to another sender does not open', async () => {
    const commandId = await f.putCommand({ allow: ['prescribe'] });
    const sealed = await f.seal(prescribeRequest(commandId), 'edge');
    const decision = await handleSignerEvent({ ...sealed, from: 'analyst' }, f.signer);
    expect(decision).toMatchObject({ status: 'denied' });
    expect(['CONTEXT_MISMATCH', 'TAMPERED']).toContain((decision as { reason: string }).reason);
  });

  it('a request sealed for another service is refused', async () => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const req = scheduleRequest(commandId);
    const sealed = await sealRequest(f.cipher, { from: 'scheduler', to: 'effects', label: label('CONFIDENTIAL'), requestId: req.requestId, commandId, body: req });
    expect(await handleSignerEvent(sealed, f.signer)).toMatchObject({ status: 'denied', reason: 'MISROUTED' });
  });

  it('the sealed body cannot name another request or command than its envelope', async () => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const req = scheduleRequest(commandId);
    const sealed = await sealRequest(f.cipher, {
      from: 'scheduler',
      to: 'signer',
      label: label('CONFIDENTIAL'),
      requestId: randomUUID(),
      commandId,
      body: req,
    });
    expect(await handleSignerEvent(sealed, f.signer)).toMatchObject({ status: 'denied', reason: 'BINDING_MISMATCH' });
  });
});

describe('votes are written by the signer only, as the API forwards them', () => {
  async function pendingPrescription() {
    const commandId = await f.putCommand({ allow: ['prescribe'] });
    const req = prescribeRequest(commandId);
    expect(await decide(f.signer, req)).toMatchObject({ status: 'pending' });
    return { commandId, requestId: req.requestId };
  }
  const voteBy = (from: string, commandId: string, requestId: string, approver: string) =>
    sealRequest(f.cipher, {
      from,
      to: 'signer',
      label: label('UNCLASSIFIED'),
      requestId,
      commandId,
      body: { kind: 'vote', requestId, commandId, approver, clearance: 'SECRET/MEDICAL', decision: 'approve' },
    });

  it('a vote the API seals is recorded', async () => {
    const { requestId } = await pendingPrescription();
    expect(await f.castVote(requestId, 'carol')).toMatchObject({ status: 'recorded', recorded: true, approvals: ['carol'], outcome: 'pending' });
  });

  it('an agent cannot forge a vote: one sealed by anyone but the API is refused IMPERSONATION and ledgered', async () => {
    const { commandId, requestId } = await pendingPrescription();
    const answer = await handleSignerEvent({ vote: await voteBy('edge', commandId, requestId, 'carol') }, f.signer);
    expect(answer).toMatchObject({ status: 'refused', code: 'IMPERSONATION' });
    expect((await f.signer.approvals.load(requestId)).votes).toEqual([]);
    expect(await denialsOf(commandId)).toEqual([{ reason: 'IMPERSONATION', requester: undefined }]);
  });

  it('an unsealed vote is refused UNAUTHENTICATED', async () => {
    const { commandId, requestId } = await pendingPrescription();
    const answer = await handleSignerEvent({ vote: { kind: 'vote', requestId, commandId, approver: 'carol', decision: 'approve' } }, f.signer);
    expect(answer).toMatchObject({ status: 'refused', code: 'UNAUTHENTICATED' });
    expect((await f.signer.approvals.load(requestId)).votes).toEqual([]);
  });
});
