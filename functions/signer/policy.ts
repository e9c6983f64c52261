import { CommandAuthority, isTerminal } from '../stores/commands';
import { BoundRequest } from '../kernel/directives/request';
import { ReasonCode } from '../kernel/errors';
import { dominates, formatLabel, levelRank } from '../kernel/labels';
import { ToolConfig, Topology } from '../kernel/topology/topology';

/**
 * The signer's policy (DESIGN §5, §6): a pure function of the request, the command it serves, the topology and
 * the approvals recorded so far. Each rule is one function named for what it guarantees; `decideDirective`
 * applies them in order and the first refusal wins. No I/O, no clock, no model.
 */

/** One human's recorded decision on a request. */
export interface ApprovalVote {
  readonly approver: string;
  readonly decision: 'approve' | 'reject';
}

export type Denial = {
  readonly verdict: 'deny';
  readonly reason: ReasonCode;
  readonly message: string;
  /** True when an approver rejected the request: the command it serves ends `denied`. */
  readonly rejected?: boolean;
};
export type PolicyVerdict =
  | { readonly verdict: 'grant' }
  | { readonly verdict: 'pending'; readonly approvalsNeeded: number; readonly approvals: readonly string[] }
  | Denial;

export interface PolicyInput {
  readonly topology: Topology;
  readonly request: BoundRequest;
  /** The command record, undefined when there is none. */
  readonly command: CommandAuthority | undefined;
  /** Every vote recorded for this request id. */
  readonly votes: readonly ApprovalVote[];
}

/** Human approvals a declassification needs when the user did not pre-authorize it (DESIGN §6). */
export const DECLASSIFY_APPROVALS = 1;

const GRANT: PolicyVerdict = Object.freeze({ verdict: 'grant' });

const deny = (reason: ReasonCode, message: string, rejected?: boolean): Denial =>
  rejected ? { verdict: 'deny', reason, message, rejected } : { verdict: 'deny', reason, message };

/** Fail closed: only an agent of the topology may ask for anything. */
export function requesterIsKnownAgent(topology: Topology, req: BoundRequest): Denial | undefined {
  return topology.agents.has(req.requester) ? undefined : deny('UNKNOWN_SENDER', `unknown requester "${req.requester}"`);
}

export function targetIsKnownAgent(topology: Topology, req: BoundRequest): Denial | undefined {
  return topology.agents.has(req.target) ? undefined : deny('NOT_AUTHORIZED', `unknown target agent "${req.target}"`);
}

/** An agent asks for its own tools only: a directive for another agent's tool is never handed to a bystander. */
export function toolRequesterIsItsTarget(req: BoundRequest): Denial | undefined {
  return req.requester === req.target
    ? undefined
    : deny('NOT_AUTHORIZED', `${req.requester} cannot ask for a directive for ${req.target}`);
}

/** The tool is allowed to that agent (DESIGN §5): the topology lists the target among the tool's owners. */
export function targetOwnsTool(topology: Topology, req: BoundRequest): Denial | undefined {
  const tool = req.tool === undefined ? undefined : topology.tools.get(req.tool);
  if (!tool) return deny('NOT_AUTHORIZED', `unknown tool "${req.tool}"`);
  return tool.owners.includes(req.target) ? undefined : deny('NOT_AUTHORIZED', `${req.target} does not own tool ${tool.name}`);
}

/** Only the kernel agent writes down (DESIGN §6); an effector never lowers a label. */
export function onlyCoreDeclassifies(req: BoundRequest): Denial | undefined {
  return req.requester === 'core' ? undefined : deny('NOT_AUTHORIZED', `only core declassifies, not ${req.requester}`);
}

/** Declassified content goes to the receiver over an edge the topology allows, never to an arbitrary agent. */
export function declassifiedContentFollowsAnEdge(topology: Topology, req: BoundRequest): Denial | undefined {
  return topology.allowsEdge(req.requester, req.target)
    ? undefined
    : deny('NOT_AUTHORIZED', `${req.requester} does not send to ${req.target}`);
}

/**
 * No read up for the acting agent (DESIGN §2): a tool runs only on content its agent may hold, and declassified
 * content is lowered to a label its receiver may read.
 */
export function targetClearanceDominatesLabel(topology: Topology, req: BoundRequest): Denial | undefined {
  const acting = req.kind === 'declassify' ? req.declassifyTo : req.label;
  const clearance = topology.agent(req.target).clearance;
  if (!acting || dominates(clearance, acting)) return undefined;
  return deny('READ_UP', `${req.target} (${formatLabel(clearance)}) cannot hold ${formatLabel(acting)}`);
}

/** The request traces to an authenticated user's command that is still live (DESIGN §5). */
export function requestTracesToLiveCommand(req: BoundRequest, command: CommandAuthority | undefined): Denial | undefined {
  if (!command || command.commandId !== req.commandId) return deny('NOT_AUTHORIZED', `no command ${req.commandId}`);
  return isTerminal(command.status) ? deny('NOT_AUTHORIZED', `command ${req.commandId} is ${command.status}`) : undefined;
}

/** The user the command serves could read what the action is about (DESIGN §5: the user's clearance dominates the label). */
export function ownerClearanceDominatesLabel(command: CommandAuthority, req: BoundRequest): Denial | undefined {
  return dominates(command.ownerClearance, req.label)
    ? undefined
    : deny('READ_UP', `${formatLabel(req.label)} is above the clearance of ${command.owner}`);
}

/** Low-priority tools run without a directive, so the authority key never signs one. */
export function lowToolsNeedNoDirective(tool: ToolConfig): Denial | undefined {
  return tool.priority === 'low' ? deny('NOT_AUTHORIZED', 'low-priority tools need no directive') : undefined;
}

/** High and critical tools: the user allowed the tool when issuing the command (DESIGN §5). */
export function toolAllowedOnCommand(command: CommandAuthority, tool: ToolConfig): Denial | undefined {
  return command.allow.includes(tool.name)
    ? undefined
    : deny('NOT_AUTHORIZED', `tool ${tool.name} was not allowed on command ${command.commandId}`);
}

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

/** Critical tools: allowed on the command AND k-of-n distinct human approvals (DESIGN §5). */
export function criticalToolHasDistinctApprovals(topology: Topology, tool: ToolConfig, votes: readonly ApprovalVote[]): PolicyVerdict {
  return distinctApproversApproved(topology, votes, tool.approvals ?? Number.POSITIVE_INFINITY);
}

/** The user pre-authorized declassification down to this level (or a higher one) on the command (DESIGN §6). */
export function declassificationPreAuthorized(command: CommandAuthority, req: BoundRequest): boolean {
  return (
    command.declassifyTo !== undefined &&
    req.declassifyTo !== undefined &&
    levelRank(req.declassifyTo.level) >= levelRank(command.declassifyTo)
  );
}

function toolRule(topology: Topology, req: BoundRequest, command: CommandAuthority, votes: readonly ApprovalVote[]): PolicyVerdict {
  const tool = topology.tool(req.tool as string);
  if (tool.priority === 'low') return lowToolsNeedNoDirective(tool) as Denial;
  const refusal = toolAllowedOnCommand(command, tool);
  if (refusal) return refusal;
  return tool.priority === 'high' ? GRANT : criticalToolHasDistinctApprovals(topology, tool, votes);
}

function declassifyRule(topology: Topology, req: BoundRequest, command: CommandAuthority, votes: readonly ApprovalVote[]): PolicyVerdict {
  return declassificationPreAuthorized(command, req) ? GRANT : distinctApproversApproved(topology, votes, DECLASSIFY_APPROVALS);
}

/** The signer's decision on one request: grant (sign), pending (wait for approvals) or deny with a reason code. */
export function decideDirective({ topology, request, command, votes }: PolicyInput): PolicyVerdict {
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
  const aboveOwner = ownerClearanceDominatesLabel(live, request);
  if (aboveOwner) return aboveOwner;
  return request.kind === 'tool' ? toolRule(topology, request, live, votes) : declassifyRule(topology, request, live, votes);
}
