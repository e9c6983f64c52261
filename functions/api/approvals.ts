import { ApprovalStore, PendingApproval } from '../stores/approvals';
import { Label, dominates, formatLabel } from '../kernel/labels';
import type { SealedShown, Shown } from '../kernel/directives/shown';
import type { SealedRequest } from '../kernel/messages/sealed-request';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { VoteToSign } from '../kernel/directives/passkey-challenge';
import { SignerClient } from '../signer/signer-client';
import type { Vote } from '../signer/votes';
import { Caller } from './caller';
import { ApiError } from './errors';
import { approvalDecisionSchema, parseRequest, resourceIdSchema } from './schemas';

/**
 * A pending request as `GET /v1/approvals` shows it: labels in text form, and what it authorizes (`shown`: the tool and
 * its arguments, or the text to be released), opened at the approver's clearance. `digest` is what a vote binds.
 */
export type PendingApprovalView = Omit<PendingApproval, 'label' | 'declassifyTo' | 'shown'> & {
  label: string;
  declassifyTo?: string;
  shown?: Shown;
  digest?: string;
  /** The user whose command the request serves: who asked, through the agents. */
  owner?: string;
  /**
   * How to approve: `required` when only a passkey assertion counts (the topology's `votesWithoutPasskey` says where
   * not); `options` for `navigator.credentials.get()` to sign the approval, null when the approver has no passkey.
   */
  passkey: { required: boolean; options: PublicKeyCredentialRequestOptionsJSON | null };
};

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
  /** Read only: the signer alone writes approvals (DESIGN §3, §5). */
  readonly approvals: Pick<ApprovalStore, 'listPending' | 'load'>;
  /** Records a vote, then signs (or denies) the request once its approvals are complete. */
  readonly signer: Pick<SignerClient, 'vote'>;
  /** Seals a vote `from` the API, which is how the signer knows the API forwards it. */
  readonly sealVote: (vote: Vote) => Promise<SealedRequest>;
  /** Opens what the signer sealed for approvers. @default nothing is shown beyond digests */
  readonly openShown?: (commandId: string, label: Label, sealed: SealedShown) => Promise<Shown>;
  /** The options a passkey signs an approval with (`null`: the approver has none). @default null */
  readonly passkeyOptions?: (approver: string) => Promise<(vote: VoteToSign) => PublicKeyCredentialRequestOptionsJSON | null>;
  /** The user who owns a command. @default not shown */
  readonly ownerOf?: (commandId: string) => Promise<string | undefined>;
  /** True when an approval of this request counts only as a passkey assertion. */
  readonly passkeyRequired: (request: Pick<PendingApproval, 'kind' | 'tool'>) => boolean;
}

/** Human approvals for critical tools and declassification, recorded through the API (DESIGN §5, §6). */
export class ApprovalService {
  constructor(private readonly props: ApprovalServiceProps) {}

  /** `GET /v1/approvals`: only approvers see what waits for them; anyone else sees nothing pending. */
  async list(caller: Caller): Promise<PendingApprovalView[]> {
    if (!caller.isApprover) return [];
    const pending = await this.props.approvals.listPending();
    // Only what the approver may approve, opened at their clearance and never beyond it (DESIGN §5).
    const visible = pending.filter((p) => dominates(caller.clearance, p.label));
    const optionsFor = (await this.props.passkeyOptions?.(caller.username)) ?? (() => null);
    return Promise.all(
      visible.map(async ({ label, declassifyTo, shown, ...rest }) => {
        const digest = rest.argsDigest ?? rest.contentDigest;
        const owner = await this.props.ownerOf?.(rest.commandId);
        return {
          ...rest,
          ...(owner ? { owner } : {}),
          label: formatLabel(label),
          ...(declassifyTo ? { declassifyTo: formatLabel(declassifyTo) } : {}),
          ...(shown && this.props.openShown ? { shown: await this.props.openShown(rest.commandId, label, shown) } : {}),
          ...(digest ? { digest } : {}),
          passkey: {
            required: this.props.passkeyRequired(rest),
            options: optionsFor({ requestId: rest.requestId, commandId: rest.commandId, digest: digest ?? '', decision: 'approve' }),
          },
        };
      }),
    );
  }

  /**
   * `POST /v1/approvals/{id}`. The approver is the token's user, never a body field. The API forwards the vote,
   * sealed as itself, to the signer, which refuses (and ledgers) non-approvers, records the vote and decides once
   * the threshold is met or someone rejects. A repeated vote records nothing but still lets the signer decide, so a
   * decision a failed request left undone is completed.
   */
  async decide(caller: Caller, requestId: string, body: unknown): Promise<ApprovalDecisionView> {
    const id = parseRequest(resourceIdSchema, requestId, 'approval request id');
    const { decision, reason, digest, passkey } = parseRequest(approvalDecisionSchema, body, 'approval');
    const { request } = await this.props.approvals.load(id);
    if (!request) throw ApiError.notFound('approval request');
    const vote: Vote = {
      kind: 'vote',
      requestId: id,
      commandId: request.commandId,
      approver: caller.username,
      clearance: formatLabel(caller.clearance),
      decision,
      ...(reason ? { reason } : {}),
      ...(digest ? { digest } : {}),
      ...(passkey ? { passkey } : {}),
    };
    const answer = await this.props.signer.vote(await this.props.sealVote(vote));
    if (answer.status === 'refused') {
      if (answer.code === 'UNKNOWN_REQUEST') throw ApiError.notFound('approval request');
      if (answer.code === 'ALREADY_DECIDED') throw ApiError.conflict('the request is already decided');
      if (answer.code === 'NOT_AN_APPROVER') throw ApiError.forbidden(`${caller.username} is not an approver`);
      if (answer.code === 'SELF_APPROVAL' || answer.code === 'ABOVE_CLEARANCE') throw ApiError.forbidden(answer.message);
      if (answer.code === 'DIGEST_MISMATCH') throw ApiError.conflict(answer.message);
      if (answer.code === 'PASSKEY_REQUIRED') throw ApiError.forbidden(answer.message);
      if (answer.code === 'PASSKEY_INVALID') throw new ApiError(403, answer.message, 'UNAUTHENTICATED');
      throw new Error(`the signer refused a vote the API sealed: ${answer.code}`);
    }
    return {
      requestId: answer.requestId,
      commandId: answer.commandId,
      decision: answer.decision,
      recorded: answer.recorded,
      approvals: answer.approvals,
      approvalsNeeded: answer.approvalsNeeded,
      status: answer.outcome,
    };
  }
}
