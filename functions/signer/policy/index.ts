import { CommandAuthority } from '../../stores/commands';
import { BoundRequest } from '../../kernel/directives/request';
import { Topology } from '../../kernel/topology/topology';
import { approvalsSignedByPasskeys, votesWithoutPasskeyAllowed } from './approvals-are-signed-by-passkeys';
import { criticalToolHasDistinctApprovals } from './critical-tool-has-distinct-approvals';
import { declassificationIsNarrow } from './declassification-is-narrow';
import { declassificationPreAuthorized } from './declassification-pre-authorized';
import { declassifiedContentFollowsAnEdge } from './declassified-content-follows-an-edge';
import { distinctApproversApproved } from './distinct-approvers-approved';
import { freeTextNeedsApproval } from './free-text-needs-approval';
import { lowToolsNeedNoDirective } from './low-tools-need-no-directive';
import { onlyCoreDeclassifies } from './only-core-declassifies';
import { ownerClearanceDominatesLabel } from './owner-clearance-dominates-label';
import { ownerClearedNow } from './owner-cleared-now';
import { approverIsNeitherOwnerNorRequester } from './approver-is-neither-owner-nor-requester';
import { approverClearedForWhatTheyApprove } from './approver-cleared-for-what-they-approve';
import { requestTracesToLiveCommand } from './request-traces-to-live-command';
import { requesterIsKnownAgent } from './requester-is-known-agent';
import { ruleBuiltReleaseRebuilds } from './rule-built-release-rebuilds';
import { targetClearanceDominatesLabel } from './target-clearance-dominates-label';
import { targetIsKnownAgent } from './target-is-known-agent';
import { targetOwnsTool } from './target-owns-tool';
import { callFitsACapability } from './call-fits-a-capability';
import { untrustedTargetOf } from './target-arguments-come-from-trusted-sources';
import { toolRequesterIsItsTarget } from './tool-requester-is-its-target';
import { ApprovalVote, CapabilityVerdict, Denial, PolicyInput, PolicyVerdict } from './types';
import { GRANT } from './verdicts';

/**
 * The signer's policy (DESIGN §5, §6): a pure function of the request, the command it serves, the topology and
 * the approvals recorded so far. Each rule is one function named for what it guarantees, in a file named for
 * it; `decideDirective` applies them in order and the first refusal wins. No I/O, no clock, no model.
 */

export type { ApprovalVote, CapabilityVerdict, Denial, PolicyInput, PolicyVerdict } from './types';
export {
  requesterIsKnownAgent,
  targetIsKnownAgent,
  toolRequesterIsItsTarget,
  targetOwnsTool,
  onlyCoreDeclassifies,
  declassifiedContentFollowsAnEdge,
  targetClearanceDominatesLabel,
  requestTracesToLiveCommand,
  ownerClearanceDominatesLabel,
  ownerClearedNow,
  approverIsNeitherOwnerNorRequester,
  approverClearedForWhatTheyApprove,
  lowToolsNeedNoDirective,
  callFitsACapability,
  untrustedTargetOf,
  distinctApproversApproved,
  approvalsSignedByPasskeys,
  votesWithoutPasskeyAllowed,
  criticalToolHasDistinctApprovals,
  declassificationPreAuthorized,
  declassificationIsNarrow,
  freeTextNeedsApproval,
  ruleBuiltReleaseRebuilds,
};

/** Human approvals (from `topology.approvers`) a declassification needs when a pre-authorization does not cover it (DESIGN §6). */
export const DECLASSIFY_APPROVALS = 1;
/** Distinct approvals a declassification that drops a compartment or more than one level needs, whatever was pre-authorized. */
export const WIDE_DECLASSIFY_APPROVALS = 2;

function toolRule(topology: Topology, req: BoundRequest, votes: readonly ApprovalVote[], capability: CapabilityVerdict | undefined): PolicyVerdict {
  const tool = topology.tool(req.tool as string);
  if (tool.priority === 'low') return lowToolsNeedNoDirective(tool) as Denial;
  if (!capability) return { verdict: 'deny', reason: 'NOT_AUTHORIZED', message: `no capability was found for ${tool.name}` };
  if (capability.verdict === 'deny') return capability;
  return tool.priority === 'high' ? GRANT : criticalToolHasDistinctApprovals(topology, tool, votes);
}

/**
 * A pre-authorization lets down only a rule-built release that is narrow (one level, no compartment dropped) and
 * within the command's `declassifyTo`; free text, a dropped compartment or a wider drop waits for a human (DESIGN §6).
 */
function declassifyRule(topology: Topology, req: BoundRequest, command: CommandAuthority, votes: readonly ApprovalVote[]): PolicyVerdict {
  const narrow = declassificationIsNarrow(req);
  const automatic = !freeTextNeedsApproval(req) && narrow && declassificationPreAuthorized(command, req);
  return automatic ? GRANT : distinctApproversApproved(topology, votes, narrow ? DECLASSIFY_APPROVALS : WIDE_DECLASSIFY_APPROVALS);
}

/** The signer's decision on one request: grant (sign), pending (wait for approvals) or deny with a reason code. */
export function decideDirective({ topology, request, command, votes, capability }: PolicyInput): PolicyVerdict {
  const refusal =
    requesterIsKnownAgent(topology, request) ??
    targetIsKnownAgent(topology, request) ??
    (request.kind === 'tool'
      ? (toolRequesterIsItsTarget(request) ?? targetOwnsTool(topology, request))
      : (onlyCoreDeclassifies(request) ?? declassifiedContentFollowsAnEdge(topology, request))) ??
    targetClearanceDominatesLabel(topology, request) ??
    requestTracesToLiveCommand(request, command);
  if (refusal) return refusal;
  const live = command as CommandAuthority;
  const aboveOwner = ownerClearanceDominatesLabel(live, request) ?? ownerClearedNow(topology, live, request);
  if (aboveOwner) return aboveOwner;
  const counted = approvalsSignedByPasskeys(topology, request, votes);
  return request.kind === 'tool' ? toolRule(topology, request, counted, capability) : declassifyRule(topology, request, live, counted);
}
