import { CommandAuthority } from '../../stores/commands';
import { BoundRequest } from '../../kernel/directives/request';
import { ReasonCode } from '../../kernel/errors';
import { Topology } from '../../kernel/topology/topology';

/** The types the signer's policy rules share (DESIGN §5, §6). */

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
