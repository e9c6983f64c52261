import { BoundRequest } from '../../kernel/directives/request';
import { Topology } from '../../kernel/topology/topology';
import { ApprovalVote } from './types';

/**
 * True when the topology lets this request be approved by a vote without a passkey (`votesWithoutPasskey`: a
 * critical tool named there, or declassification); everywhere else an approval is the approver's signature.
 */
export function votesWithoutPasskeyAllowed(topology: Topology, req: Pick<BoundRequest, 'kind' | 'tool'>): boolean {
  return req.kind === 'declassify' ? topology.votesWithoutPasskey.declassify : topology.votesWithoutPasskey.tools.has(req.tool ?? '');
}

/**
 * The votes that count (DESIGN §5: votes signed by the person): an approval counts only when the signer verified the
 * approver's passkey assertion over it, unless the topology allows votes without one for this request. A rejection
 * always counts: refusing can only stop an action. Neither the API nor any role can sign as the approver, so an
 * approval the API forwarded (or a role wrote) without an assertion is never one of the k.
 */
export function approvalsSignedByPasskeys(topology: Topology, req: BoundRequest, votes: readonly ApprovalVote[]): readonly ApprovalVote[] {
  if (votesWithoutPasskeyAllowed(topology, req)) return votes;
  return votes.filter((v) => v.decision === 'reject' || v.passkey === true);
}
