import type { AllowEntry } from '../functions/kernel/directives/capabilities';
import type { AwaitingView } from '../functions/api/commands';
import type { CheckpointOutcome } from '../functions/kernel/ledger/checkpoints';
import type { AuditVerification } from '../functions/kernel/ledger/verify-audit';
import type { ConsistencyProof, InclusionProof } from '../functions/kernel/ledger/log-tree';

/** A small client of the AgentSec HTTP API (DESIGN §10), used by the CLI and the demo. */

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const reason = typeof body === 'object' && body !== null ? (body as { message?: string; reason?: string }) : {};
    super(`the API answered ${status}${reason.reason ? ` ${reason.reason}` : ''}: ${reason.message ?? JSON.stringify(body)}`);
    this.name = 'ApiRequestError';
  }
}

export interface CommandRequestBody {
  text: string;
  classification: { level: string; compartments: string[] };
  allow?: AllowEntry[];
  /** A bare level (the command's compartments kept) or a whole label. */
  declassifyTo?: string | { level: string; compartments: string[] };
}

export interface CommandView {
  commandId: string;
  status: 'queued' | 'running' | 'awaiting_approval' | 'completed' | 'failed' | 'denied';
  label?: string;
  result?: string;
  resultLabel?: string;
  resultWithheld?: { reason: string; label: string };
  /** What the command allows, as capabilities (shown to an owner cleared for its label). */
  allow?: AllowEntry[];
  /** While awaiting approval: the requests it waits on, and who may approve them. */
  awaiting?: AwaitingView[];
  [key: string]: unknown;
}

export const TERMINAL = new Set(['completed', 'failed', 'denied']);

/** The API is not answering at all: nothing is listening at its URL. */
export class ApiUnreachableError extends Error {
  constructor(
    readonly apiUrl: string,
    cause: string,
    /** The deployed stack's profile the API is of; unset for the local cloud. */
    readonly profile?: string,
  ) {
    super(`cannot reach the AgentSec API ${profile ? `of profile ${profile} ` : ''}at ${apiUrl}${profile ? '' : ' (is `agentsec dev` running?)'}: ${cause}`);
    this.name = 'ApiUnreachableError';
  }
}

/** What makes and uses a passkey: a browser's `navigator.credentials`, or a software authenticator. */
export interface PasskeyAuthenticator {
  register(options: never): unknown;
  sign(options: never): unknown;
}

export class ApiClient {
  /**
   * @param refreshToken called once when the API answers 401 (an expired token, or one from an earlier run of
   * the local cloud); the request is retried with the token it returns.
   * @param profile the deployed stack's profile this API is of, for messages; unset for the local cloud.
   */
  constructor(
    readonly apiUrl: string,
    private token: string,
    private readonly refreshToken?: () => Promise<string>,
    readonly profile?: string,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await this.send<T>(method, path, body);
    } catch (err) {
      if (!(err instanceof ApiRequestError) || err.status !== 401 || !this.refreshToken) throw err;
      this.token = await this.refreshToken();
      return this.send<T>(method, path, body);
    }
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.apiUrl.replace(/\/$/, '')}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      throw new ApiUnreachableError(this.apiUrl, (err as Error).message, this.profile);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    if (!res.ok) throw new ApiRequestError(res.status, parsed);
    return parsed as T;
  }

  submit(body: CommandRequestBody): Promise<{ commandId: string }> {
    return this.request('POST', '/v1/commands', body);
  }

  command(id: string): Promise<CommandView> {
    return this.request('GET', `/v1/commands/${encodeURIComponent(id)}`);
  }

  approvals(): Promise<Array<Record<string, unknown>>> {
    return this.request('GET', '/v1/approvals');
  }

  /**
   * Votes on a request; `digest` (from `approvals()`) binds the vote to what the approver was shown, and `passkey` is
   * the approver's WebAuthn assertion over it (required for approvals unless the topology's `votesWithoutPasskey` allows).
   */
  decide(requestId: string, decision: 'approve' | 'reject', reason?: string, digest?: string, passkey?: unknown): Promise<Record<string, unknown>> {
    return this.request('POST', `/v1/approvals/${encodeURIComponent(requestId)}`, {
      decision,
      ...(reason ? { reason } : {}),
      ...(digest ? { digest } : {}),
      ...(passkey ? { passkey } : {}),
    });
  }

  /** Who the token says the caller is, and whether they have a passkey. */
  me(): Promise<{ username: string; clearance: string; approver: boolean; passkey: { registered: boolean; createdAt?: string } }> {
    return this.request('GET', '/v1/me');
  }

  /** Registers the caller's passkey made by `authenticator` (the console does the same with the browser's). */
  async registerPasskey(authenticator: PasskeyAuthenticator): Promise<{ username: string; credentialId: string; createdAt: string }> {
    const { options } = await this.request<{ options: never }>('POST', '/v1/passkeys/options');
    return this.request('POST', '/v1/passkeys', { response: authenticator.register(options) });
  }

  /** Approves `requestId` as the console does: what `approvals()` shows, signed with the caller's passkey. */
  async approveWithPasskey(requestId: string, authenticator: PasskeyAuthenticator, reason?: string): Promise<Record<string, unknown>> {
    const item = (await this.approvals()).find((p) => p.requestId === requestId) as { digest?: string; passkey?: { options: unknown } } | undefined;
    if (!item) throw new ApiRequestError(404, { message: `approval request ${requestId} not found`, reason: 'NOT_FOUND' });
    if (!item.passkey?.options) throw new ApiRequestError(409, { message: 'register a passkey first: the request offers none to sign with' });
    return this.decide(requestId, 'approve', reason, item.digest, authenticator.sign(item.passkey.options as never));
  }

  audit(since?: number, limit?: number): Promise<unknown> {
    const q = new URLSearchParams();
    if (since !== undefined) q.set('since', String(since));
    if (limit !== undefined) q.set('limit', String(limit));
    const qs = q.toString();
    return this.request('GET', `/v1/audit${qs ? `?${qs}` : ''}`);
  }

  verifyAudit(): Promise<AuditVerification> {
    return this.request('GET', '/v1/audit/verify');
  }

  /** The inclusion proof of one ledger entry under a signed tree head (functions/kernel/ledger/log-tree.ts). */
  prove(seq: number): Promise<InclusionProof> {
    return this.request('GET', `/v1/audit/proofs/${seq}`);
  }

  /** The consistency proof between the signed tree heads of `from` and `to` entries. */
  proveConsistency(from: number, to: number): Promise<ConsistencyProof> {
    return this.request('GET', `/v1/audit/consistency?from=${from}&to=${to}`);
  }

  /** Asks the signer for a ledger checkpoint now (functions/kernel/ledger/checkpoints.ts `CheckpointOutcome`). */
  checkpoint(): Promise<CheckpointOutcome> {
    return this.request('POST', '/v1/audit/checkpoints');
  }

  /** Polls a command until it reaches `until` (default: a terminal status), reporting each change. */
  async waitFor(
    id: string,
    options: {
      timeoutMs?: number;
      until?: (v: CommandView) => boolean;
      onChange?: (v: CommandView) => void;
      /** Called after every poll, before `onChange`: e.g. to report what led to the status, from the ledger. */
      onPoll?: (v: CommandView) => Promise<void>;
    } = {},
  ): Promise<CommandView> {
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    const until = options.until ?? ((v: CommandView) => TERMINAL.has(v.status));
    let last = '';
    for (;;) {
      const view = await this.command(id);
      await options.onPoll?.(view);
      if (view.status !== last) {
        last = view.status;
        options.onChange?.(view);
      }
      if (until(view)) return view;
      if (Date.now() > deadline) throw new Error(`command ${id} is still ${view.status} after ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
