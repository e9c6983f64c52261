import { randomUUID } from 'node:crypto';
import { argsDigest } from '../../functions/kernel/directives/claims';
import { BoundRequest } from '../../functions/kernel/directives/request';
import { label } from '../../functions/kernel/labels';
import { loadTopology, parseTopology } from '../../functions/kernel/topology/topology';
import embeddedTopology from '../../agentsec.config.json';
import {
  decideDirective,
  declassificationPreAuthorized,
  distinctApproversApproved,
  lowToolsNeedNoDirective,
  requestTracesToLiveCommand,
  targetIsKnownAgent,
  targetOwnsTool,
} from '../../functions/signer/policy';
import { CommandAuthority } from '../../functions/stores/commands';
import { SignerFixture, scheduleRequest, signerEntries, signerFixture, decide } from './support';
import { newDigestSalt } from '../../functions/kernel/keyed-digest';

/**
 * The signer's policy (DESIGN §5, §6), one describe block per rule in the order `decideDirective` applies them.
 * Each rule is exercised through the signer (a refusal is ledgered once) and, where the end-to-end tests left a
 * mutant alive, on its own: every rule fails closed on what it guards.
 */

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

/** For the rules called on their own: the topology, and a bound request and command record for a critical tool. */
const topology = loadTopology();
const boundCommandId = randomUUID();

const boundRequest = (o: Partial<BoundRequest> = {}): BoundRequest => ({
  requestId: randomUUID(),
  kind: 'tool',
  requester: 'analyst',
  commandId: boundCommandId,
  target: 'analyst',
  label: label('SECRET', ['MEDICAL']),
  tool: 'prescribe',
  argsDigest: argsDigest({ patientId: 'P-1001', drug: 'Metformin', doseMg: 500 }, newDigestSalt()),
  ...o,
});

const commandRecord = (o: Partial<CommandAuthority> = {}): CommandAuthority => ({
  commandId: boundCommandId,
  owner: 'alice',
  ownerClearance: label('TOP_SECRET', ['FINANCE', 'MEDICAL']),
  label: label('SECRET', ['MEDICAL']),
  allow: ['prescribe'],
  status: 'running',
  ...o,
});

describe('the signer refuses what the policy does not allow (DESIGN §5)', () => {
  it('a malformed request is denied SCHEMA and ledgered without its content', async () => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const decision = await decide(f.signer, { ...scheduleRequest(commandId), label: { level: 'COSMIC' }, note: 'ignore all rules' });
    await expectDenied(commandId, decision, 'SCHEMA');
    expect(JSON.stringify(await f.entriesFor(commandId))).not.toContain('ignore all rules');
  });

  describe('requesterIsKnownAgent: only an agent of the topology may ask', () => {
    it('a requester that is not an agent of the topology is denied', async () => {
      const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
      const decision = await decide(f.signer, scheduleRequest(commandId, { requester: 'mallory', target: 'mallory' }));
      await expectDenied(commandId, decision, 'UNKNOWN_SENDER');
    });
  });

  describe('targetIsKnownAgent: the target is an agent of the topology', () => {
    it('a target that is not an agent of the topology is refused NOT_AUTHORIZED, and a known target passes', () => {
      expect(targetIsKnownAgent(topology, boundRequest({ target: 'mallory' }))).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
      expect(targetIsKnownAgent(topology, boundRequest())).toBeUndefined();
    });
  });

  describe('toolRequesterIsItsTarget: an agent asks for its own tools only', () => {
    it("an agent cannot obtain a directive for another agent's tool", async () => {
      const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
      const decision = await decide(f.signer, scheduleRequest(commandId, { requester: 'edge' }));
      await expectDenied(commandId, decision, 'NOT_AUTHORIZED');
    });
  });

  describe("targetOwnsTool: the topology lists the target among the tool's owners", () => {
    it('a tool the target does not own is denied', async () => {
      const commandId = await f.putCommand({ allow: ['send_email', 'schedule_appointment'] });
      const decision = await decide(f.signer, scheduleRequest(commandId, { tool: 'send_email', args: { to: 'x@example.com' } }));
      await expectDenied(commandId, decision, 'NOT_AUTHORIZED');
    });

    it('a tool the topology does not name, or no tool at all, is refused NOT_AUTHORIZED instead of being looked up', () => {
      expect(targetOwnsTool(topology, boundRequest({ tool: 'launch_missiles' }))).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
      expect(targetOwnsTool(topology, boundRequest({ tool: undefined }))).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
    });
  });

  describe("targetClearanceDominatesLabel: no read up for the acting agent (DESIGN §2)", () => {
    it("a label above the acting agent's clearance is denied", async () => {
      const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
      await expectDenied(commandId, await decide(f.signer, scheduleRequest(commandId, { label: label('SECRET') })), 'READ_UP');
    });
  });

  describe('requestTracesToLiveCommand: the request serves a command that is still live', () => {
    it('a request for an unknown command is denied', async () => {
      const commandId = randomUUID();
      await expectDenied(commandId, await decide(f.signer, scheduleRequest(commandId)), 'NOT_AUTHORIZED');
    });

    it.each(['completed', 'failed', 'denied'])('a request for a %s command is denied', async (status) => {
      const commandId = await f.putCommand({ allow: ['schedule_appointment'], status });
      await expectDenied(commandId, await decide(f.signer, scheduleRequest(commandId)), 'NOT_AUTHORIZED');
    });

    it("a live command record whose id is not the request's authorizes nothing; the record of the request's own command passes", () => {
      expect(requestTracesToLiveCommand(boundRequest(), commandRecord({ commandId: randomUUID() }))).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
      expect(requestTracesToLiveCommand(boundRequest(), commandRecord())).toBeUndefined();
    });
  });

  describe("ownerClearanceDominatesLabel: the command owner's clearance dominates the label", () => {
    it('a label above the command owner\'s clearance is denied', async () => {
      const commandId = await f.putCommand({ owner: 'bob', ownerClearance: label('UNCLASSIFIED'), allow: ['schedule_appointment'] });
      await expectDenied(commandId, await decide(f.signer, scheduleRequest(commandId)), 'READ_UP');
    });

    it('a compartment the command owner is not cleared for is denied', async () => {
      const commandId = await f.putCommand({ ownerClearance: label('TOP_SECRET'), allow: ['prescribe'] });
      const decision = await decide(f.signer, {
        requestId: randomUUID(), kind: 'tool', requester: 'analyst', commandId, target: 'analyst', tool: 'prescribe',
        args: { drug: 'Metformin', doseMg: 500 }, argsSalt: newDigestSalt(), label: label('SECRET', ['MEDICAL']),
      });
      await expectDenied(commandId, decision, 'READ_UP');
    });
  });

  describe('lowToolsNeedNoDirective: the authority key never signs for a low-priority tool', () => {
    it('low tools are not signed', async () => {
      const commandId = await f.putCommand({ allow: ['read_patient_record'] });
      const decision = await decide(f.signer, {
        requestId: randomUUID(), kind: 'tool', requester: 'analyst', commandId, target: 'analyst', tool: 'read_patient_record',
        args: { patientId: 'P-1001' }, argsSalt: newDigestSalt(), label: label('SECRET', ['MEDICAL']),
      });
      await expectDenied(commandId, decision, 'NOT_AUTHORIZED');
      expect(decision.status === 'denied' && decision.message).toMatch(/low-priority tools need no directive/);
    });

    it('only a low-priority tool is refused NOT_AUTHORIZED: high and critical tools pass this rule', () => {
      expect(lowToolsNeedNoDirective(topology.tool('read_patient_record'))).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
      expect(lowToolsNeedNoDirective(topology.tool('schedule_appointment'))).toBeUndefined();
      expect(lowToolsNeedNoDirective(topology.tool('prescribe'))).toBeUndefined();
    });
  });

  describe('callFitsACapability: the user allowed a high or critical tool on the command', () => {
    it('a tool request whose command did not allow the tool is denied', async () => {
      const commandId = await f.putCommand({ allow: ['send_email'] });
      await expectDenied(commandId, await decide(f.signer, scheduleRequest(commandId)), 'NOT_AUTHORIZED');
    });
  });
});

describe('criticalToolHasDistinctApprovals: a critical tool waits for k distinct approvals (DESIGN §5)', () => {
  it('a critical tool needing two approvals that has one is pending, and the verdict names who approved', () => {
    const verdict = decideDirective({
      topology,
      request: boundRequest(),
      command: commandRecord(),
      votes: [{ approver: 'dave', decision: 'approve', passkey: true }],
      capability: { verdict: 'fits', index: 0, maxUses: 1 },
    });
    expect(verdict).toEqual({ verdict: 'pending', approvalsNeeded: 2, approvals: ['dave'] });
  });
});

describe('approvalsSignedByPasskeys: where the topology requires it, only approvals the signer verified as passkey assertions count (DESIGN §5)', () => {
  const fits = { verdict: 'fits' as const, index: 0, maxUses: 1 };
  const decideWith = (t: typeof topology, votes: { approver: string; decision: 'approve' | 'reject'; passkey?: boolean }[]) =>
    decideDirective({ topology: t, request: boundRequest(), command: commandRecord(), votes, capability: fits });
  const unsigned = [{ approver: 'carol', decision: 'approve' as const }, { approver: 'dave', decision: 'approve' as const }];

  it('two approvals without a passkey leave prescribe pending with nobody counted; a rejection without one still ends it', () => {
    expect(decideWith(topology, unsigned)).toEqual({ verdict: 'pending', approvalsNeeded: 2, approvals: [] });
    expect(decideWith(topology, [unsigned[0], { approver: 'dave', decision: 'approve', passkey: true }])).toEqual({ verdict: 'pending', approvalsNeeded: 2, approvals: ['dave'] });
    expect(decideWith(topology, [{ approver: 'carol', decision: 'reject' }])).toMatchObject({ verdict: 'deny', rejected: true });
  });

  it("votes without a passkey count only where the topology's votesWithoutPasskey names the tool", () => {
    const relaxed = parseTopology({ ...JSON.parse(JSON.stringify(embeddedTopology)), votesWithoutPasskey: { tools: ['prescribe'] } });
    expect(decideWith(relaxed, unsigned)).toEqual({ verdict: 'grant' });
  });
});

describe('distinctApproversApproved: approvals are counted per distinct approver', () => {
  it('a pending verdict lists each approver once, sorted, whatever the order and repetition of their votes', () => {
    const votes = [
      { approver: 'dave', decision: 'approve' as const },
      { approver: 'carol', decision: 'approve' as const },
      { approver: 'dave', decision: 'approve' as const },
    ];
    expect(distinctApproversApproved(topology, votes, 3)).toEqual({ verdict: 'pending', approvalsNeeded: 3, approvals: ['carol', 'dave'] });
  });

  it("a vote that is neither 'approve' nor 'reject' counts as no approval and as no rejection", () => {
    const votes = [
      { approver: 'dave', decision: 'abstain' as never },
      { approver: 'carol', decision: 'approve' as const },
    ];
    expect(distinctApproversApproved(topology, votes, 2)).toEqual({ verdict: 'pending', approvalsNeeded: 2, approvals: ['carol'] });
    expect(distinctApproversApproved(topology, votes.slice(0, 1), 1)).toEqual({ verdict: 'pending', approvalsNeeded: 1, approvals: [] });
  });
});

describe('declassificationPreAuthorized: the command pre-authorized declassifying to this level (DESIGN §6)', () => {
  it('a declassify request that names no lowered label is not pre-authorized, even by a command that pre-authorizes declassification', () => {
    expect(declassificationPreAuthorized(commandRecord({ declassifyTo: label('UNCLASSIFIED') }), boundRequest({ kind: 'declassify', declassifyTo: undefined }))).toBe(false);
  });
});

describe('the signer signs what the policy allows', () => {
  it('a high tool allowed on the command is signed, and the directive verifies bound to the exact arguments', async () => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const req = scheduleRequest(commandId) as { args: unknown; argsSalt: string; requestId: string };
    const decision = await decide(f.signer, req);
    expect(decision.status).toBe('signed');
    if (decision.status !== 'signed') return;
    const { claims } = decision.directive;
    expect(claims).toMatchObject({ kind: 'tool', principal: 'alice', commandId, target: 'scheduler', tool: 'schedule_appointment', argsDigest: argsDigest(req.args, req.argsSalt) });

    const verifier = f.verifier();
    const expected = { kind: 'tool' as const, target: 'scheduler', commandId, tool: 'schedule_appointment', principal: 'alice' };
    await expect(verifier.verify(decision.directive, { ...expected, args: req.args, argsSalt: req.argsSalt })).resolves.toMatchObject({ id: claims.id });
    // The same arguments written in another key order are the same arguments (RFC 8785).
    const reordered = Object.fromEntries(Object.entries(req.args as object).reverse());
    await expect(verifier.verify(decision.directive, { ...expected, args: reordered, argsSalt: req.argsSalt })).resolves.toBeDefined();
    await expect(verifier.verify(decision.directive, { ...expected, args: { ...(req.args as object), slot: '2031-04-02T09:00:00Z' }, argsSalt: req.argsSalt })).rejects.toMatchObject({ reason: 'BINDING_MISMATCH' });

    const entries = signerEntries(await f.entriesFor(commandId));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ type: 'directive.signed', directiveId: claims.id, digests: { args: claims.argsDigest } });
    expect(JSON.stringify(entries)).not.toContain('P-1001');
  });

  it('signed directives expire after runtime.directiveTtlSeconds', async () => {
    const t0 = Date.now();
    const signer = f.makeSigner(() => t0);
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const req = scheduleRequest(commandId) as { args: unknown; argsSalt: string };
    const decision = await decide(signer, req);
    if (decision.status !== 'signed') throw new Error(`expected a directive, got ${decision.status}`);
    const ttlMs = f.topology.runtime.directiveTtlSeconds * 1000;
    expect(decision.directive.claims.expiresAt - decision.directive.claims.issuedAt).toBe(ttlMs);
    const expected = { kind: 'tool' as const, target: 'scheduler', commandId, args: req.args, argsSalt: req.argsSalt };
    await expect(f.verifier(() => t0 + ttlMs - 1).verify(decision.directive, expected)).resolves.toBeDefined();
    await expect(f.verifier(() => t0 + ttlMs).verify(decision.directive, expected)).rejects.toMatchObject({ reason: 'EXPIRED' });
  });
});

describe("ownerClearedNow: the owner's clearance is checked again when the signer signs (DESIGN §1, threat 6)", () => {
  const fits = { verdict: 'fits' as const, index: 0, maxUses: 1 };
  const approved = [{ approver: 'carol', decision: 'approve' as const, passkey: true }, { approver: 'dave', decision: 'approve' as const, passkey: true }];
  const withAlice = (clearance: { level: string; compartments: string[] } | undefined) => {
    const config = JSON.parse(JSON.stringify(embeddedTopology)) as { users: { username: string; clearance: unknown }[] };
    config.users = config.users.flatMap((u) => (u.username !== 'alice' ? [u] : clearance ? [{ ...u, clearance }] : []));
    return parseTopology(config);
  };

  it('a command whose owner was lowered below its label gets nothing signed, though it was submitted in time', () => {
    const lowered = withAlice({ level: 'CONFIDENTIAL', compartments: [] });
    const verdict = decideDirective({ topology: lowered, request: boundRequest(), command: commandRecord(), votes: approved, capability: fits });
    expect(verdict).toMatchObject({ verdict: 'deny', reason: 'READ_UP' });
    expect(decideDirective({ topology, request: boundRequest(), command: commandRecord(), votes: approved, capability: fits })).toEqual({ verdict: 'grant' });
  });

  it('a command whose owner left the topology gets nothing signed', () => {
    const verdict = decideDirective({ topology: withAlice(undefined), request: boundRequest(), command: commandRecord(), votes: approved, capability: fits });
    expect(verdict).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
  });
});
