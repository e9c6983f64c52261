import type { ConsoleConfig } from './config';

/**
 * The HTTP API as the console uses it (DESIGN §10), with the signed-in user's ID token as the bearer token. The shapes
 * below are read loosely: the console only shows them, and the API decides what each user may see.
 */

/** `GET /v1/me`. */
export interface MeView {
  username: string;
  /** As text, e.g. `SECRET/MEDICAL`. */
  clearance: string;
  approver: boolean;
  passkey: { registered: boolean; createdAt?: string };
}

export interface Capability {
  tool: string;
  args?: Record<string, unknown>;
  maxUses?: number;
}

/** `GET /v1/commands/{id}`. */
export interface CommandView {
  commandId: string;
  status: 'queued' | 'running' | 'awaiting_approval' | 'completed' | 'failed' | 'denied';
  label: string;
  createdAt: string;
  updatedAt: string;
  reason?: string;
  result?: string;
  resultLabel?: string;
  resultWithheld?: { reason: string; label: string };
  allow?: Capability[];
  awaiting?: Array<{ requestId: string; kind: string; tool?: string; approvalsNeeded: number; approvals: string[]; approvers: string[] }>;
}

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'denied']);

/** What an approver is shown: the tool and its arguments, or the exact text to be released. */
export type Shown =
  | { kind: 'tool'; tool: string; args: unknown }
  | { kind: 'declassify'; from: string; to: string; rule: string | null; text: string | null };

/** One item of `GET /v1/approvals`. */
export interface PendingApprovalView {
  requestId: string;
  kind: 'tool' | 'declassify';
  commandId: string;
  requester: string;
  owner?: string;
  target: string;
  tool?: string;
  label: string;
  declassifyTo?: string;
  approvalsNeeded: number;
  approvals: string[];
  createdAt: string;
  shown?: Shown;
  digest?: string;
  passkey?: { required: boolean; options: unknown };
}

/** `POST /v1/approvals/{id}`. */
export interface ApprovalDecisionView {
  requestId: string;
  commandId: string;
  decision: 'approve' | 'reject';
  recorded: boolean;
  approvals: string[];
  approvalsNeeded: number;
  status: 'pending' | 'signed' | 'denied';
}

/** A ledger entry (`GET /v1/audit`): identifiers, labels and digests, never content (DESIGN §7). */
import type { EntryView } from '../../cli/output';

export type { EntryView };

/** `GET /v1/audit/verify`. */
export interface AuditVerification {
  ok: boolean;
  entries: number;
  checkpoints: number;
  firstBadSeq: number | null;
  reason?: string;
  treeSize: number;
  rootHash: string | null;
  latestHeadAt: string | null;
}

/** A refusal or failure of the API: its status, and the `{message, reason?}` body. Status 0: no answer at all. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** The API's largest audit page. */
const AUDIT_PAGE = 1000;

export class Api {
  constructor(
    private readonly config: ConsoleConfig,
    /** The current bearer token, read at each call. */
    private readonly token: () => string | undefined,
    /** Called when the API refuses the token (401): the session is over. */
    private readonly onUnauthorized: () => void,
  ) {}

  me(): Promise<MeView> {
    return this.call('GET', '/v1/me');
  }

  submit(body: unknown): Promise<{ commandId: string }> {
    // A retried submission with the same key runs once (the API's idempotency keys).
    return this.call('POST', '/v1/commands', body, { 'Idempotency-Key': crypto.randomUUID() });
  }

  command(commandId: string): Promise<CommandView> {
    return this.call('GET', `/v1/commands/${encodeURIComponent(commandId)}`);
  }

  approvals(): Promise<PendingApprovalView[]> {
    return this.call('GET', '/v1/approvals');
  }

  decide(requestId: string, body: { decision: 'approve' | 'reject'; digest?: string; passkey?: unknown }): Promise<ApprovalDecisionView> {
    return this.call('POST', `/v1/approvals/${encodeURIComponent(requestId)}`, body);
  }

  passkeyOptions(): Promise<{ options: unknown }> {
    return this.call('POST', '/v1/passkeys/options');
  }

  registerPasskey(response: unknown): Promise<{ username: string; credentialId: string; createdAt: string }> {
    return this.call('POST', '/v1/passkeys', { response });
  }

  verifyAudit(): Promise<AuditVerification> {
    return this.call('GET', '/v1/audit/verify');
  }

  /** Every ledger entry after `since`, page by page. */
  async auditSince(since = 0): Promise<EntryView[]> {
    const all: EntryView[] = [];
    for (let after = since; ; ) {
      const page = await this.call<EntryView[]>('GET', `/v1/audit?since=${after}&limit=${AUDIT_PAGE}`);
      all.push(...page);
      if (page.length < AUDIT_PAGE) return all;
      after = page[page.length - 1].seq;
    }
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const token = this.token();
    if (!token) {
      this.onUnauthorized();
      throw new ApiError(401, 'You are not signed in.');
    }
    let res: Response;
    try {
      res = await fetch(`${this.config.apiUrl}${path}`, {
        method,
        credentials: 'omit',
        cache: 'no-store',
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new ApiError(0, `The API (${this.config.apiUrl}) did not answer.`);
    }
    const answer = (await res.json().catch(() => undefined)) as unknown;
    if (res.ok) return answer as T;
    if (res.status === 401) this.onUnauthorized();
    const { message, reason } = (typeof answer === 'object' && answer !== null ? answer : {}) as { message?: unknown; reason?: unknown };
    throw new ApiError(res.status, typeof message === 'string' ? message : `The API answered ${res.status}.`, typeof reason === 'string' ? reason : undefined);
  }
}
