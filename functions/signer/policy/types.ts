import { CommandAuthority } from '../../stores/commands';
import { BoundRequest } from '../../kernel/directives/request';
import { ReasonCode } from '../../kernel/errors';
import { Topology } from '../../kernel/topology/topology';

/** The types the signer's policy rules share (DESIGN §5, §6). */

/** One human's recorded decision on a request. */
export interface ApprovalVote {
  readonly approver: string;
  readonly decision: 'approve' | 'reject';
  /** True when the vote was a passkey assertion the signer verified (DESIGN §5). */
  readonly passkey?: boolean;
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

/** The capability a high-priority call fits: its index in the command's `allow`, and how many uses it has (undefined: no limit). */
export type CapabilityVerdict = { readonly verdict: 'fits'; readonly index: number; readonly maxUses: number | undefined } | Denial;

export interface PolicyInput {
  readonly topology: Topology;
  readonly request: BoundRequest;
  /** The command record, undefined when there is none. */
  readonly command: CommandAuthority | undefined;
  /** Every vote recorded for this request id. */
  readonly votes: readonly ApprovalVote[];
  /**
   * For a high or critical tool: the capability the call fits (decided by {@link callFitsACapability} when the request
   * arrived with its arguments, and kept with a request that waits for approvals). Undefined refuses the call.
   */
  readonly capability?: CapabilityVerdict;
}
