import { randomUUID } from 'node:crypto';
import { CommandAuthority } from '../../functions/stores/commands';
import { BoundRequest } from '../../functions/kernel/directives/request';
import { argsDigest } from '../../functions/kernel/directives/directives';
import { label } from '../../functions/kernel/labels';
import {
  decideDirective,
  declassificationPreAuthorized,
  distinctApproversApproved,
  lowToolsNeedNoDirective,
  requestTracesToLiveCommand,
  targetIsKnownAgent,
  targetOwnsTool,
} from '../../functions/signer/policy';
import { loadTopology } from '../../functions/kernel/topology/topology';

/** Each rule of the signer's policy on its own (DESIGN §5): every one fails closed on what it guards. */

const topology = loadTopology();
const commandId = randomUUID();

const request = (o: Partial<BoundRequest> = {}): BoundRequest => ({
  requestId: randomUUID(),
  kind: 'tool',
  requester: 'analyst',
  commandId,
  target: 'analyst',
  label: label('SECRET', ['MEDICAL']),
  tool: 'prescribe',
  argsDigest: argsDigest({ patientId: 'P-1001', drug: 'Metformin', doseMg: 500 }),
  ...o,
});

const command = (o: Partial<CommandAuthority> = {}): CommandAuthority => ({
  commandId,
  owner: 'alice',
  ownerClearance: label('TOP_SECRET', ['FINANCE', 'MEDICAL']),
  label: label('SECRET', ['MEDICAL']),
  allow: ['prescribe'],
  status: 'running',
  ...o,
});

describe('each rule fails closed', () => {
  it('a target that is not an agent of the topology is denied NOT_AUTHORIZED', () => {
    expect(targetIsKnownAgent(topology, request({ target: 'mallory' }))).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
    expect(targetIsKnownAgent(topology, request())).toBeUndefined();
  });

  it('a tool the topology does not name is denied NOT_AUTHORIZED, never looked up as if it existed', () => {
    expect(targetOwnsTool(topology, request({ tool: 'launch_missiles' }))).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
    expect(targetOwnsTool(topology, request({ tool: undefined }))).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
  });

  it('a command record of another command authorizes nothing', () => {
    expect(requestTracesToLiveCommand(request(), command({ commandId: randomUUID() }))).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
    expect(requestTracesToLiveCommand(request(), command())).toBeUndefined();
  });

  it('only a low-priority tool is refused as needing no directive', () => {
    expect(lowToolsNeedNoDirective(topology.tool('read_patient_record'))).toMatchObject({ verdict: 'deny', reason: 'NOT_AUTHORIZED' });
    expect(lowToolsNeedNoDirective(topology.tool('schedule_appointment'))).toBeUndefined();
    expect(lowToolsNeedNoDirective(topology.tool('prescribe'))).toBeUndefined();
  });

  it('a request without a lowered label is never pre-authorized to declassify', () => {
    expect(declassificationPreAuthorized(command({ declassifyTo: 'UNCLASSIFIED' }), request({ kind: 'declassify', declassifyTo: undefined }))).toBe(false);
  });
});

describe('approvals', () => {
  it('a critical tool with one of two approvals is pending, and says who approved', () => {
    const verdict = decideDirective({ topology, request: request(), command: command(), votes: [{ approver: 'dave', decision: 'approve' }] });
    expect(verdict).toEqual({ verdict: 'pending', approvalsNeeded: 2, approvals: ['dave'] });
  });

  it('lists each approver once, in a stable order', () => {
    const votes = [
      { approver: 'dave', decision: 'approve' as const },
      { approver: 'carol', decision: 'approve' as const },
      { approver: 'dave', decision: 'approve' as const },
    ];
    expect(distinctApproversApproved(topology, votes, 3)).toEqual({ verdict: 'pending', approvalsNeeded: 3, approvals: ['carol', 'dave'] });
  });

  it('a vote that is neither an approval nor a rejection does not count as an approval', () => {
    const votes = [
      { approver: 'dave', decision: 'abstain' as never },
      { approver: 'carol', decision: 'approve' as const },
    ];
    expect(distinctApproversApproved(topology, votes, 2)).toEqual({ verdict: 'pending', approvalsNeeded: 2, approvals: ['carol'] });
    expect(distinctApproversApproved(topology, votes.slice(0, 1), 1)).toEqual({ verdict: 'pending', approvalsNeeded: 1, approvals: [] });
  });
});
