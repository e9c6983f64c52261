import { randomUUID } from 'node:crypto';
import embeddedTopology from '../../agentsec.config.json';
import { bindRequest, directiveRequestSchema } from '../../functions/kernel/directives/request';
import { label } from '../../functions/kernel/labels';
import { decideDirective } from '../../functions/signer/policy';
import { parseTopology } from '../../functions/kernel/topology/topology';
import { SignerFixture, declassifyRequest, signerEntries, signerFixture, decide } from './support';

let f: SignerFixture;
beforeAll(async () => {
  f = await signerFixture();
});

const CONTENT = 'b'.repeat(64);

describe('declassification is signed only as the user allowed it (DESIGN §6)', () => {
  it('is automatic when the command pre-authorized declassification to that level', async () => {
    const commandId = await f.putCommand({ label: label('SECRET', ['MEDICAL']), declassifyTo: 'CONFIDENTIAL' });
    const decision = await decide(f.signer, declassifyRequest(commandId, { contentDigest: CONTENT }));
    if (decision.status !== 'signed') throw new Error(`expected a directive, got ${JSON.stringify(decision)}`);
    const claims = await f.verifier().verify(decision.directive, { kind: 'declassify', target: 'scheduler', commandId, contentDigest: CONTENT });
    expect(claims).toMatchObject({ label: label('SECRET', ['MEDICAL']), declassifyTo: label('CONFIDENTIAL'), principal: 'alice' });
    await expect(
      f.verifier().verify(decision.directive, { kind: 'declassify', target: 'scheduler', commandId, contentDigest: 'c'.repeat(64) }),
    ).rejects.toMatchObject({ reason: 'BINDING_MISMATCH' });
    expect(signerEntries(await f.entriesFor(commandId)).map((e) => [e.type, e.digests?.content])).toEqual([['directive.signed', CONTENT]]);
  });

  it('waits for an approver when the command did not pre-authorize it, and one approval signs it', async () => {
    const commandId = await f.putCommand({ label: label('SECRET', ['MEDICAL']) });
    const req = declassifyRequest(commandId) as ReturnType<typeof declassifyRequest> & { requestId: string };
    expect(await decide(f.signer, req)).toMatchObject({ status: 'pending', approvalsNeeded: 1 });
    await f.signer.approvals.recordApproval({ requestId: req.requestId, approver: 'carol', decision: 'approve' });
    expect(await f.signer.resume(req.requestId)).toMatchObject({ status: 'signed' });
    expect(signerEntries(await f.entriesFor(commandId)).map((e) => e.type)).toEqual(['directive.requested', 'directive.signed']);
  });

  it('waits for an approver when asked to go below the pre-authorized level', async () => {
    const commandId = await f.putCommand({ label: label('SECRET', ['MEDICAL']), declassifyTo: 'CONFIDENTIAL' });
    const decision = await decide(f.signer, declassifyRequest(commandId, { target: 'edge', declassifyTo: label('UNCLASSIFIED') }));
    expect(decision).toMatchObject({ status: 'pending', approvalsNeeded: 1 });
  });

  it('is refused when requested by a non-core agent', async () => {
    const commandId = await f.putCommand({ label: label('SECRET', ['MEDICAL']), declassifyTo: 'UNCLASSIFIED' });
    // analyst → core is an edge of the topology, so only the "only core declassifies" rule stands in the way.
    const decision = await decide(f.signer, declassifyRequest(commandId, { requester: 'analyst', target: 'core' }));
    expect(decision).toMatchObject({ status: 'denied', reason: 'NOT_AUTHORIZED' });
    expect(signerEntries(await f.entriesFor(commandId)).map((e) => [e.type, e.reason])).toEqual([['directive.denied', 'NOT_AUTHORIZED']]);
  });

  it('is refused towards an agent the requester does not send to', () => {
    // The repository topology lets core reach every agent, so the rule is shown on one where core does not reach edge.
    const config = JSON.parse(JSON.stringify(embeddedTopology)) as { agents: { core: { sendsTo: string[] } } };
    config.agents.core.sendsTo = config.agents.core.sendsTo.filter((a) => a !== 'edge');
    const topology = parseTopology(config);
    const command = { commandId: randomUUID(), owner: 'alice', ownerClearance: label('TOP_SECRET', ['FINANCE', 'MEDICAL']), label: label('SECRET'), allow: [], declassifyTo: 'UNCLASSIFIED' as const, status: 'running' as const };
    const request = bindRequest(directiveRequestSchema.parse(declassifyRequest(command.commandId, { target: 'edge', declassifyTo: label('UNCLASSIFIED') })));
    expect(decideDirective({ topology, request, command, votes: [] })).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
    expect(decideDirective({ topology: f.topology, request, command, votes: [] })).toEqual({ verdict: 'grant' });
  });

  it('is refused when the receiver is not cleared for the lowered label', async () => {
    const commandId = await f.putCommand({ label: label('TOP_SECRET'), declassifyTo: 'UNCLASSIFIED' });
    const decision = await decide(f.signer, declassifyRequest(commandId, { label: label('TOP_SECRET'), declassifyTo: label('SECRET') }));
    expect(decision).toMatchObject({ status: 'denied', reason: 'READ_UP' });
  });

  it('is refused when it would not lower the label', async () => {
    const commandId = await f.putCommand({ declassifyTo: 'UNCLASSIFIED' });
    const decision = await decide(f.signer, declassifyRequest(commandId, { label: label('CONFIDENTIAL'), declassifyTo: label('CONFIDENTIAL') }));
    expect(decision).toMatchObject({ status: 'denied', reason: 'SCHEMA' });
  });
});
