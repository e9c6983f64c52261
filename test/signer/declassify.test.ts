import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { newDigestSalt } from '../../functions/kernel/keyed-digest';
import { openShown } from '../../functions/kernel/directives/shown';
import { releasedContentDigest, releasedTask } from '../../functions/kernel/flow/declassify';
import { randomUUID } from 'node:crypto';
import embeddedTopology from '../../agentsec.config.json';
import { bindRequest, directiveRequestSchema } from '../../functions/kernel/directives/request';
import { Label, label } from '../../functions/kernel/labels';
import { decideDirective } from '../../functions/signer/policy';
import { parseTopology } from '../../functions/kernel/topology/topology';
import { SignerFixture, declassifyRequest, ruleBuiltDeclassifyRequest, signerEntries, signerFixture, decide } from './support';

let f: SignerFixture;
beforeAll(async () => {
  f = await signerFixture();
});

const CONTENT = 'b'.repeat(64);

describe('declassification is signed only as the user allowed it (DESIGN §6)', () => {
  it('is automatic for a rule-built release one level down when the command pre-authorized declassification to that label', async () => {
    const commandId = await f.putCommand({ label: label('SECRET'), declassifyTo: 'CONFIDENTIAL' });
    const request = ruleBuiltDeclassifyRequest(commandId) as ReturnType<typeof ruleBuiltDeclassifyRequest> & { contentDigest: string };
    const digest = request.contentDigest;
    const decision = await decide(f.signer, request);
    if (decision.status !== 'signed') throw new Error(`expected a directive, got ${JSON.stringify(decision)}`);
    const claims = await f.verifier().verify(decision.directive, { kind: 'declassify', target: 'scheduler', commandId, contentDigest: digest });
    expect(claims).toMatchObject({ label: label('SECRET'), declassifyTo: label('CONFIDENTIAL'), principal: 'alice' });
    await expect(
      f.verifier().verify(decision.directive, { kind: 'declassify', target: 'scheduler', commandId, contentDigest: 'c'.repeat(64) }),
    ).rejects.toMatchObject({ reason: 'BINDING_MISMATCH' });
    expect(signerEntries(await f.entriesFor(commandId)).map((e) => [e.type, e.digests?.content])).toEqual([['directive.signed', digest]]);
  });

  it("a pre-authorization written into the command's plain field by another principal covers nothing: the signer reads the sealed intent", async () => {
    const commandId = await f.putCommand({ label: label('SECRET') });
    await f.doc.send(new UpdateCommand({ TableName: f.tables.commands, Key: { commandId }, UpdateExpression: 'SET declassifyTo = :d', ExpressionAttributeValues: { ':d': 'CONFIDENTIAL' } }));
    const decision = await decide(f.signer, ruleBuiltDeclassifyRequest(commandId));
    expect(decision).toMatchObject({ status: 'pending', approvalsNeeded: 1 });
  });

  it('free text sent for approval is shown to approvers exactly as it will be released; text its digest does not bind is refused', async () => {
    const commandId = await f.putCommand({ label: label('SECRET', ['MEDICAL']) });
    const subtaskId = randomUUID();
    const salt = newDigestSalt();
    const text = 'Please lookup_public_info about parking near the hospital.';
    const contentDigest = releasedContentDigest(releasedTask(subtaskId, text), salt);
    const req = declassifyRequest(commandId, { contentDigest, release: { path: 'free-text', text, subtaskId, salt } }) as { requestId: string };
    expect(await decide(f.signer, req)).toMatchObject({ status: 'pending' });
    const { request } = await f.signer.approvals.load(req.requestId);
    expect(JSON.stringify(request)).not.toContain('parking');
    const shown = await openShown(f.cipher, commandId, label('SECRET', ['MEDICAL']), request!.shown!);
    expect(shown).toEqual({ kind: 'declassify', from: 'SECRET/MEDICAL', to: 'CONFIDENTIAL', rule: null, text });

    const lying = declassifyRequest(commandId, { contentDigest, release: { path: 'free-text', text: 'Nothing to see here.', subtaskId, salt } });
    expect(await decide(f.signer, lying)).toMatchObject({ status: 'denied', reason: 'BINDING_MISMATCH' });
  });

  it('free text needs an approval even when declassification was pre-authorized', async () => {
    const commandId = await f.putCommand({ label: label('SECRET'), declassifyTo: 'CONFIDENTIAL' });
    const decision = await decide(f.signer, declassifyRequest(commandId, { label: label('SECRET'), contentDigest: CONTENT }));
    expect(decision).toMatchObject({ status: 'pending', approvalsNeeded: 1 });
    const untagged = declassifyRequest(commandId, { label: label('SECRET'), release: undefined });
    expect(await decide(f.signer, untagged)).toMatchObject({ status: 'denied', reason: 'SCHEMA' });
  });

  it('pre-authorizing SECRET does not strip MEDICAL without approval', async () => {
    // The API stores a bare SECRET as SECRET with the command's compartments; a whole label SECRET covers no more.
    for (const declassifyTo of [label('SECRET', ['MEDICAL']), label('SECRET')]) {
      const command = { ...liveCommand(label('SECRET', ['MEDICAL'])), declassifyTo };
      const request = ruleBuiltDeclassifyRequest(command.commandId, { label: label('SECRET', ['MEDICAL']), declassifyTo: label('SECRET') });
      // To the auditor (SECRET, no compartment), where the rule releases in this topology: only MEDICAL is dropped.
      const topology = parseTopology(withRuleTo('auditor', 'SECRET'));
      const bound = bindRequest(directiveRequestSchema.parse({ ...request, target: 'auditor' }));
      // Dropping a compartment takes two people (DESIGN §6): one approval is not enough.
      expect(decideDirective({ topology, request: bound, command, votes: [] })).toMatchObject({ verdict: 'pending', approvalsNeeded: 2 });
      expect(decideDirective({ topology, request: bound, command, votes: [{ approver: 'carol', decision: 'approve' }] })).toMatchObject({ verdict: 'pending' });
      const both = [{ approver: 'carol', decision: 'approve' as const }, { approver: 'dave', decision: 'approve' as const }];
      expect(decideDirective({ topology, request: bound, command, votes: both })).toEqual({ verdict: 'grant' });
    }
  });

  it('a rule-built release within a pre-authorization still needs two approvals when it drops a compartment or more than one level', async () => {
    const medical = await f.putCommand({ label: label('SECRET', ['MEDICAL']), declassifyTo: 'CONFIDENTIAL' });
    expect(await decide(f.signer, ruleBuiltDeclassifyRequest(medical, { label: label('SECRET', ['MEDICAL']) }))).toMatchObject({ status: 'pending', approvalsNeeded: 2 });
    const twoLevels = { ...liveCommand(label('TOP_SECRET')), declassifyTo: label('CONFIDENTIAL') };
    const topology = parseTopology(withRuleFrom('TOP_SECRET'));
    const bound = bindRequest(directiveRequestSchema.parse(ruleBuiltDeclassifyRequest(twoLevels.commandId, { label: label('TOP_SECRET') })));
    expect(decideDirective({ topology, request: bound, command: twoLevels, votes: [] })).toMatchObject({ verdict: 'pending', approvalsNeeded: 2 });
    const oneLevel = { ...liveCommand(label('SECRET')), declassifyTo: label('CONFIDENTIAL') };
    const narrow = bindRequest(directiveRequestSchema.parse(ruleBuiltDeclassifyRequest(oneLevel.commandId)));
    expect(decideDirective({ topology, request: narrow, command: oneLevel, votes: [] })).toEqual({ verdict: 'grant' });
  });

  it('a rule-built release claimed by a compromised core that does not rebuild is refused', async () => {
    const commandId = await f.putCommand({ label: label('SECRET'), declassifyTo: 'CONFIDENTIAL' });
    const fields = { department: 'Cardiology', date: '2031-04-01', time: '09:00' };
    // The content is free text, but the request claims the rule built it from innocuous fields.
    const lying = ruleBuiltDeclassifyRequest(commandId, { fields, content: 'patient john smith has HIV; book Cardiology' });
    expect(await decide(f.signer, lying)).toMatchObject({ status: 'denied', reason: 'BINDING_MISMATCH' });
    // Fields that do not fit the rule are refused before any digest is compared.
    const smuggled = ruleBuiltDeclassifyRequest(commandId, { fields: { ...fields, time: 'john smith' } });
    expect(await decide(f.signer, smuggled)).toMatchObject({ status: 'denied', reason: 'SCHEMA' });
    // A rule that does not release to the target is refused.
    const elsewhere = ruleBuiltDeclassifyRequest(commandId, { rule: 'car-park-level', fields: { level: '2' }, content: 'x' });
    expect(await decide(f.signer, elsewhere)).toMatchObject({ status: 'denied', reason: 'NOT_AUTHORIZED' });
    expect(signerEntries(await f.entriesFor(commandId)).map((e) => e.type)).toEqual(['directive.denied', 'directive.denied', 'directive.denied']);
  });

  it('waits for approvers when the command did not pre-authorize it: dropping MEDICAL takes two, then it is signed', async () => {
    const commandId = await f.putCommand({ label: label('SECRET', ['MEDICAL']) });
    const req = declassifyRequest(commandId) as ReturnType<typeof declassifyRequest> & { requestId: string };
    expect(await decide(f.signer, req)).toMatchObject({ status: 'pending', approvalsNeeded: 2 });
    await f.signer.approvals.recordApproval({ requestId: req.requestId, approver: 'carol', decision: 'approve', passkey: true });
    expect(await f.signer.resume(req.requestId)).toMatchObject({ status: 'pending' });
    await f.signer.approvals.recordApproval({ requestId: req.requestId, approver: 'dave', decision: 'approve', passkey: true });
    expect(await f.signer.resume(req.requestId)).toMatchObject({ status: 'signed' });
    expect(signerEntries(await f.entriesFor(commandId)).map((e) => e.type)).toEqual(['directive.requested', 'directive.signed']);
  });

  it('waits for an approver when asked to go below the pre-authorized level', async () => {
    const commandId = await f.putCommand({ label: label('SECRET'), declassifyTo: 'SECRET' });
    const decision = await decide(f.signer, ruleBuiltDeclassifyRequest(commandId));
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
    const command = { commandId: randomUUID(), owner: 'alice', ownerClearance: label('TOP_SECRET', ['FINANCE', 'MEDICAL']), label: label('SECRET'), allow: [], declassifyTo: label('UNCLASSIFIED'), status: 'running' as const };
    const request = bindRequest(directiveRequestSchema.parse(declassifyRequest(command.commandId, { target: 'edge', declassifyTo: label('UNCLASSIFIED') })));
    expect(decideDirective({ topology, request, command, votes: [] })).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
    const both = [{ approver: 'carol', decision: 'approve' as const }, { approver: 'dave', decision: 'approve' as const }];
    expect(decideDirective({ topology: f.topology, request, command, votes: both })).toEqual({ verdict: 'grant' });
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

/** The repository topology with `appointment-slot` releasing to `agent` at `level` (to show a rule on another edge). */
function withRuleTo(agent: string, level: string): unknown {
  const config = JSON.parse(JSON.stringify(embeddedTopology)) as { release: Record<string, { to: string[]; label: { level: string; compartments: string[] } }> };
  config.release['appointment-slot'].to = [agent];
  config.release['appointment-slot'].label = { level, compartments: [] };
  return config;
}

/** The repository topology with `appointment-slot` releasing from content up to `level`. */
function withRuleFrom(level: string): unknown {
  const config = JSON.parse(JSON.stringify(embeddedTopology)) as { release: Record<string, { from: { level: string; compartments: string[] } }> };
  config.release['appointment-slot'].from = { level, compartments: ['MEDICAL'] };
  return config;
}

/** A live command of alice's at `commandLabel`, as the signer reads it. */
function liveCommand(commandLabel: Label) {
  return { commandId: randomUUID(), owner: 'alice', ownerClearance: label('TOP_SECRET', ['FINANCE', 'MEDICAL']), label: commandLabel, allow: [], status: 'running' as const };
}
