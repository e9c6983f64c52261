import { Topology, ToolConfig } from '../../kernel/topology/topology';
import { distinctApproversApproved } from './distinct-approvers-approved';
import { ApprovalVote, PolicyVerdict } from './types';

/** Critical tools: allowed on the command AND k-of-n distinct human approvals (DESIGN §5). */
export function criticalToolHasDistinctApprovals(topology: Topology, tool: ToolConfig, votes: readonly ApprovalVote[]): PolicyVerdict {
  return distinctApproversApproved(topology, votes, tool.approvals ?? Number.POSITIVE_INFINITY);
}
