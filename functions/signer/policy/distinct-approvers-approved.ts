import { Topology } from '../../kernel/topology/topology';
import { ApprovalVote, PolicyVerdict } from './types';
import { GRANT, deny } from './verdicts';

/**
 * k distinct humans from `topology.approvers` approved, and none rejected. Votes from anyone else do not count,
 * whatever the table holds; one rejection from an approver ends the request.
 */
export function distinctApproversApproved(topology: Topology, votes: readonly ApprovalVote[], needed: number): PolicyVerdict {
  const counted = votes.filter((v) => topology.approvers.has(v.approver));
  const rejecter = counted.find((v) => v.decision === 'reject');
  if (rejecter) return deny('NOT_AUTHORIZED', `rejected by ${rejecter.approver}`, true);
  const approvals = [...new Set(counted.filter((v) => v.decision === 'approve').map((v) => v.approver))].sort();
  return approvals.length >= needed ? GRANT : { verdict: 'pending', approvalsNeeded: needed, approvals };
}
