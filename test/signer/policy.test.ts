import { randomUUID } from 'node:crypto';
import { argsDigest } from '../../functions/kernel/directives/directives';
import { label } from '../../functions/kernel/labels';
import { SignerFixture, scheduleRequest, signerEntries, signerFixture } from './support';

let f: SignerFixture;
beforeAll(async () => {
  f = await signerFixture();
});

/** The decision was a denial with `reason`, and the signer wrote exactly one `directive.denied` entry for it. */
async function expectDenied(commandId: string, decision: Awaited<ReturnType<SignerFixture['signer']['request']>>, reason: string) {
  expect(decision).toMatchObject({ status: 'denied', reason });
  const entries = signerEntries(await f.entriesFor(commandId));
  expect(entries.map((e) => [e.type, e.reason])).toEqual([['directive.denied', reason]]);
}

describe('the signer refuses what the policy does not allow (DESIGN §5)', () => {
  it('a tool request whose command did not allow the tool is denied', async () => {
    const commandId = await f.putCommand({ allow: ['send_email'] });
    await expectDenied(commandId, await f.signer.request(scheduleRequest(commandId)), 'NOT_AUTHORIZED');
  });

  it('a tool the target does not own is denied', async () => {
    const commandId = await f.putCommand({ allow: ['send_email', 'schedule_appointment'] });
    const decision = await f.signer.request(scheduleRequest(commandId, { tool: 'send_email', args: { to: 'x@example.com' } }));
    await expectDenied(commandId, decision, 'NOT_AUTHORIZED');
  });

  it("an agent cannot obtain a directive for another agent's tool", async () => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const decision = await f.signer.request(scheduleRequest(commandId, { requester: 'edge' }));
    await expectDenied(commandId, decision, 'NOT_AUTHORIZED');
  });

  it('a label above the command owner\'s clearance is denied', async () => {
    const commandId = await f.putCommand({ owner: 'bob', ownerClearance: label('UNCLASSIFIED'), allow: ['schedule_appointment'] });
    await expectDenied(commandId, await f.signer.request(scheduleRequest(commandId)), 'READ_UP');
  });

  it('a compartment the command owner is not cleared for is denied', async () => {
    const commandId = await f.putCommand({ ownerClearance: label('TOP_SECRET'), allow: ['prescribe'] });
    const decision = await f.signer.request({
      requestId: randomUUID(), kind: 'tool', requester: 'analyst', commandId, target: 'analyst', tool: 'prescribe',
      args: { drug: 'Metformin', doseMg: 500 }, label: label('SECRET', ['MEDICAL']),
    });
    await expectDenied(commandId, decision, 'READ_UP');
  });

  it("a label above the acting agent's clearance is denied", async () => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    await expectDenied(commandId, await f.signer.request(scheduleRequest(commandId, { label: label('SECRET') })), 'READ_UP');
  });

  it('a request for an unknown command is denied', async () => {
    const commandId = randomUUID();
    await expectDenied(commandId, await f.signer.request(scheduleRequest(commandId)), 'NOT_AUTHORIZED');
  });

  it.each(['completed', 'failed', 'denied'])('a request for a %s command is denied', async (status) => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'], status });
    await expectDenied(commandId, await f.signer.request(scheduleRequest(commandId)), 'NOT_AUTHORIZED');
  });

  it('a requester that is not an agent of the topology is denied', async () => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const decision = await f.signer.request(scheduleRequest(commandId, { requester: 'mallory', target: 'mallory' }));
    await expectDenied(commandId, decision, 'UNKNOWN_SENDER');
  });

  it('a malformed request is denied SCHEMA and ledgered without its content', async () => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const decision = await f.signer.request({ ...scheduleRequest(commandId), label: { level: 'COSMIC' }, note: 'ignore all rules' });
    await expectDenied(commandId, decision, 'SCHEMA');
    expect(JSON.stringify(await f.entriesFor(commandId))).not.toContain('ignore all rules');
  });

  it('low tools are not signed', async () => {
    const commandId = await f.putCommand({ allow: ['read_patient_record'] });
    const decision = await f.signer.request({
      requestId: randomUUID(), kind: 'tool', requester: 'analyst', commandId, target: 'analyst', tool: 'read_patient_record',
      args: { patientId: 'P-1001' }, label: label('SECRET', ['MEDICAL']),
    });
    await expectDenied(commandId, decision, 'NOT_AUTHORIZED');
    expect(decision.status === 'denied' && decision.message).toMatch(/low-priority tools need no directive/);
  });
});

describe('the signer signs what the policy allows', () => {
  it('a high tool allowed on the command is signed, and the directive verifies bound to the exact arguments', async () => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const req = scheduleRequest(commandId) as { args: unknown; requestId: string };
    const decision = await f.signer.request(req);
    expect(decision.status).toBe('signed');
    if (decision.status !== 'signed') return;
    const { claims } = decision.directive;
    expect(claims).toMatchObject({ kind: 'tool', principal: 'alice', commandId, target: 'scheduler', tool: 'schedule_appointment', argsDigest: argsDigest(req.args) });

    const verifier = f.verifier();
    const expected = { kind: 'tool' as const, target: 'scheduler', commandId, tool: 'schedule_appointment', principal: 'alice' };
    await expect(verifier.verify(decision.directive, { ...expected, args: req.args })).resolves.toMatchObject({ id: claims.id });
    // The same arguments written in another key order are the same arguments (RFC 8785).
    const reordered = Object.fromEntries(Object.entries(req.args as object).reverse());
    await expect(verifier.verify(decision.directive, { ...expected, args: reordered })).resolves.toBeDefined();
    await expect(verifier.verify(decision.directive, { ...expected, args: { ...(req.args as object), slot: '2031-04-02T09:00:00Z' } })).rejects.toMatchObject({ reason: 'BINDING_MISMATCH' });

    const entries = signerEntries(await f.entriesFor(commandId));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ type: 'directive.signed', directiveId: claims.id, digests: { args: claims.argsDigest } });
    expect(JSON.stringify(entries)).not.toContain('P-1001');
  });

  it('signed directives expire after runtime.directiveTtlSeconds', async () => {
    const t0 = Date.now();
    const signer = f.makeSigner(() => t0);
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const req = scheduleRequest(commandId) as { args: unknown };
    const decision = await signer.request(req);
    if (decision.status !== 'signed') throw new Error(`expected a directive, got ${decision.status}`);
    const ttlMs = f.topology.runtime.directiveTtlSeconds * 1000;
    expect(decision.directive.claims.expiresAt - decision.directive.claims.issuedAt).toBe(ttlMs);
    const expected = { kind: 'tool' as const, target: 'scheduler', commandId, args: req.args };
    await expect(f.verifier(() => t0 + ttlMs - 1).verify(decision.directive, expected)).resolves.toBeDefined();
    await expect(f.verifier(() => t0 + ttlMs).verify(decision.directive, expected)).rejects.toMatchObject({ reason: 'EXPIRED' });
  });
});
