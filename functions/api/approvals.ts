import { ApprovalError, ApprovalStore, PendingApproval } from '../stores/approvals';
import { formatLabel } from '../kernel/labels';
import { SignerClient } from '../signer/signer-client';
import { Caller } from './caller';
import { ApiError } from './errors';
import { approvalDecisionSchema, parseRequest, resourceIdSchema } from './schemas';

/** A pending request as `GET /v1/approvals` shows it: labels in text form, digests in place of content. */
export type PendingApprovalView = Omit<PendingApproval, 'label' | 'declassifyTo'> & { label: string; declassifyTo?: string };

/** What `POST /v1/approvals/{id}` answers. */
export interface ApprovalDecisionView {
  requestId: string;
  commandId: string;
  decision: 'approve' | 'reject';
  /** False when this approver had already voted: nothing new was recorded. */
  recorded: boolean;
  approvals: readonly string[];
  approvalsNeeded: number;
  /** `pending` until the threshold is reached or someone rejects; then the signer's decision. */
  status: 'pending' | 'signed' | 'denied';
}

export interface ApprovalServiceProps {
  readonly approvals: Pick<ApprovalStore, 'listPending' | 'recordApproval'>;
  /** Signs (or denies) a request once its approvals are complete, and sends the directive onward. */
  readonly signer: Pick<SignerClient, 'resume'>;
}

/** Human approvals for critical tools and declassification, recorded through the API (DESIGN §5, §6). */
export class ApprovalService {
  constructor(private readonly props: ApprovalServiceProps) {}

  /** `GET /v1/approvals`: only approvers see what waits for them; anyone else sees nothing pending. */
  async list(caller: Caller): Promise<PendingApprovalView[]> {
    if (!caller.isApprover) return [];
    const pending = await this.props.approvals.listPending();
    return pending.map(({ label, declassifyTo, ...rest }) => ({
      ...rest,
      label: formatLabel(label),
      ...(declassifyTo ? { declassifyTo: formatLabel(declassifyTo) } : {}),
    }));
  }

  /**
   * `POST /v1/approvals/{id}`. The approver is the token's user, never a body field. The store refuses (and
   * ledgers) non-approvers; once the threshold is met or someone rejects, the signer decides. A repeated vote
   * records nothing but still asks the signer, so a decision a failed request left undone is completed.
   */
  async decide(caller: Caller, requestId: string, body: unknown): Promise<ApprovalDecisionView> {
    const id = parseRequest(resourceIdSchema, requestId, 'approval request id');
    const { decision, reason } = parseRequest(approvalDecisionSchema, body, 'approval');
    let outcome;
    try {
      outcome = await this.props.approvals.recordApproval({ requestId: id, approver: caller.username, decision, ...(reason ? { reason } : {}) });
    } catch (err) {
      if (err instanceof ApprovalError) {
        throw err.code === 'UNKNOWN_REQUEST' ? ApiError.notFound('approval request') : ApiError.conflict('the request is already decided');
      }
      throw err;
    }
    const view: ApprovalDecisionView = {
      requestId: outcome.requestId,
      commandId: outcome.commandId,
      decision: outcome.decision,
      recorded: outcome.recorded,
      approvals: outcome.approvals,
      approvalsNeeded: outcome.approvalsNeeded,
      status: 'pending',
    };
    if (!outcome.ready) return view;
    const signed = await this.props.signer.resume(id);
    return { ...view, status: signed.status };
  }
}
