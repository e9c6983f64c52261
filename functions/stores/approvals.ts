import * as z from 'zod';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  paginateScan,
} from '@aws-sdk/lib-dynamodb';
import { BoundRequest } from '../kernel/directives/request';
import { SealedShown, sealedShownSchema } from '../kernel/directives/shown';
import { SignedDirective, signedDirectiveSchema } from '../kernel/directives/claims';
import { REASON_CODES, ReasonCode, SecurityError } from '../kernel/errors';
import { Label, formatLabel } from '../kernel/labels';
import type { LedgerAppender } from '../kernel/ledger/pending';
import { describeIssues, principalSchema, uuidSchema, labelTextSchema } from '../kernel/schemas';
import { ApprovalVote } from '../signer/policy';
import { TABLES } from '../kernel/tables';
import { Topology } from '../kernel/topology/topology';
import { writeIf } from '../kernel/conditional-write';
import { PASSKEY_ITEM } from './passkeys';

/**
 * Requests waiting for humans, and the humans' votes (TABLES.approvals: pk requestId, sk approver). The request
 * itself is the item with approver `#request`; every other item is one approver's vote, so "the same approver
 * twice counts once" is the table's key, not a convention (DESIGN §5: k-of-n *distinct* approvals).
 * Only digests are stored, never a tool's arguments (DESIGN §1: tables hold ciphertext and digests).
 */

const PK = TABLES.approvals.partitionKey;
const SK = TABLES.approvals.sortKey.name;
/** The sort key of the request item; `#` is not a username character, so no vote can take its place. */
export const REQUEST_ITEM = '#request';
/** The item counting a capability's uses: partition `uses#<commandId>#<index>`, never a request id (those are UUIDs). */
const USES_PREFIX = 'uses#';
const USES_ITEM = '#uses';

export type RequestStatus = 'pending' | 'signed' | 'denied';

/** A request as the signer recorded it, with its outcome once decided. */
export interface StoredRequest extends BoundRequest {
  readonly approvalsNeeded: number;
  readonly status: RequestStatus;
  readonly reason?: ReasonCode;
  /** The directive signed for it: a repeated `resume` hands out this one, never a second. */
  readonly directive?: SignedDirective;
  /** When the signed directive was handed to the agent that asked (at least once). */
  readonly deliveredAt?: string;
  readonly createdAt: string;
  /** The index of the capability the call fitted when it arrived with its arguments (DESIGN §5). */
  readonly capability?: number;
  /** The uses that capability allows; undefined for no limit. */
  readonly maxUses?: number;
  /** What the approvers are shown, sealed by the signer for the API at the request's label (DESIGN §5). */
  readonly shown?: SealedShown;
}

/** What `GET /v1/approvals` shows an approver: what is asked and by whom, with digests in place of content. */
export interface PendingApproval {
  readonly requestId: string;
  readonly kind: 'tool' | 'declassify';
  readonly commandId: string;
  readonly requester: string;
  readonly target: string;
  readonly tool?: string;
  readonly label: Label;
  readonly declassifyTo?: Label;
  readonly argsDigest?: string;
  readonly contentDigest?: string;
  /** How a declassification's content was made: by a release rule (which one), or free text. */
  readonly release?: 'rule' | 'free-text';
  readonly releaseRule?: string;
  readonly approvalsNeeded: number;
  /** What approvers are shown, sealed for the API at `label` (the API opens it only for an approver cleared for it). */
  readonly shown?: SealedShown;
  /** Approvers who approved so far, sorted. */
  readonly approvals: readonly string[];
  readonly createdAt: string;
}

export interface ApprovalInput {
  readonly requestId: string;
  /** The authenticated username (from the caller's token, never from the request body). */
  readonly approver: string;
  readonly decision: 'approve' | 'reject';
  /** Free text from the approver; kept nowhere (the ledger records only that one was given). */
  readonly reason?: string;
  /** True when the signer verified the approver's passkey assertion over this vote (DESIGN §5). */
  readonly passkey?: boolean;
}

export interface ApprovalOutcome {
  readonly requestId: string;
  readonly commandId: string;
  readonly decision: 'approve' | 'reject';
  /** False when this approver had already voted: the vote counted once, and nothing new was recorded. */
  readonly recorded: boolean;
  readonly approvals: readonly string[];
  readonly approvalsNeeded: number;
  readonly rejected: boolean;
  /** The request can be decided now (enough approvals, or a rejection): call `SignerClient.resume(requestId)`. */
  readonly ready: boolean;
}

/** A vote on a request that does not exist, or that is already signed or denied. */
export class ApprovalError extends Error {
  constructor(
    readonly code: 'UNKNOWN_REQUEST' | 'ALREADY_DECIDED',
    message: string,
  ) {
    super(message);
    this.name = 'ApprovalError';
  }
}

/** Fails closed on a malformed item: the signer never decides on a record it cannot read. */
const storedRequestSchema = z.object({
  [PK]: z.string(),
  kind: z.enum(['tool', 'declassify']),
  requester: z.string(),
  commandId: z.string(),
  target: z.string(),
  label: labelTextSchema,
  tool: z.string().optional(),
  argsDigest: z.string().optional(),
  contentDigest: z.string().optional(),
  declassifyTo: labelTextSchema.optional(),
  release: z.enum(['rule', 'free-text']).optional(),
  releaseRule: z.string().optional(),
  approvalsNeeded: z.number().int().min(1),
  status: z.enum(['pending', 'signed', 'denied']),
  reason: z.enum(REASON_CODES).optional(),
  directive: signedDirectiveSchema.optional(),
  deliveredAt: z.string().optional(),
  createdAt: z.string(),
  capability: z.number().int().min(0).optional(),
  maxUses: z.number().int().min(1).optional(),
  shown: sealedShownSchema.optional(),
});

const voteSchema = z.object({ [SK]: z.string(), decision: z.enum(['approve', 'reject']), passkey: z.boolean().optional() });

function toStoredRequest(item: Record<string, unknown>): StoredRequest {
  const parsed = storedRequestSchema.safeParse(item);
  if (!parsed.success) throw new SecurityError('SCHEMA', `approval request ${String(item[PK])}: ${describeIssues(parsed.error)}`);
  const { [PK]: requestId, ...rest } = parsed.data;
  return { requestId, ...rest } as StoredRequest;
}

function toVote(item: Record<string, unknown>): ApprovalVote {
  const parsed = voteSchema.safeParse(item);
  if (!parsed.success) throw new SecurityError('SCHEMA', `approval vote: ${describeIssues(parsed.error)}`);
  return { approver: parsed.data[SK], decision: parsed.data.decision, ...(parsed.data.passkey === true ? { passkey: true } : {}) };
}

/** Approvers (from the topology) who approved, sorted: the same list the policy counts. */
function approversWhoApproved(topology: Topology, votes: readonly ApprovalVote[]): string[] {
  return votes.filter((v) => v.decision === 'approve' && topology.approvers.has(v.approver)).map((v) => v.approver).sort();
}


export interface ApprovalStoreProps {
  readonly doc: DynamoDBDocumentClient;
  /** The approvals table (`TABLES.approvals`). */
  readonly tableName: string;
  /** Its `approvers` decide whose votes are accepted. */
  readonly topology: Topology;
  /** Records accepted approvals (`approval.recorded`) and refused attempts (`directive.denied`). */
  readonly ledger: LedgerAppender;
}

/**
 * @example
 * const approvals = new ApprovalStore({ doc, tableName: env.AGENTSEC_TABLE_APPROVALS, topology, ledger });
 * const outcome = await approvals.recordApproval({ requestId, approver: caller.username, decision: 'approve' });
 * if (outcome.ready) await signer.resume(requestId);
 */
export class ApprovalStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly topology: Topology;
  private readonly ledger: LedgerAppender;

  constructor(props: ApprovalStoreProps) {
    this.doc = props.doc;
    this.tableName = props.tableName;
    this.topology = props.topology;
    this.ledger = props.ledger;
  }

  /** The request and every vote on it (one strongly consistent query). */
  async load(requestId: string): Promise<{ request?: StoredRequest; votes: ApprovalVote[] }> {
    let request: StoredRequest | undefined;
    const votes: ApprovalVote[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :id',
          ExpressionAttributeNames: { '#pk': PK },
          ExpressionAttributeValues: { ':id': requestId },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        if (item[SK] === REQUEST_ITEM) request = toStoredRequest(item);
        else votes.push(toVote(item));
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return { request, votes };
  }

  /** Records a request as pending; false when the request id is already taken (one id names one request). */
  async open(request: BoundRequest, approvalsNeeded: number, fits: { capability?: number; maxUses?: number; shown?: SealedShown } = {}): Promise<boolean> {
    const { requestId, label, declassifyTo, ...rest } = request;
    return writeIf(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...rest,
            [PK]: requestId,
            [SK]: REQUEST_ITEM,
            label: formatLabel(label),
            ...(declassifyTo ? { declassifyTo: formatLabel(declassifyTo) } : {}),
            approvalsNeeded,
            status: 'pending',
            createdAt: new Date().toISOString(),
            ...(fits.capability !== undefined ? { capability: fits.capability } : {}),
            ...(fits.maxUses !== undefined ? { maxUses: fits.maxUses } : {}),
            ...(fits.shown ? { shown: fits.shown } : {}),
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK },
        }),
      ),
    );
  }

  /**
   * Spends one use of capability `index` of `commandId` for `requestId`, conditionally: false when its `maxUses` are
   * spent by other requests. The same request spends one use however often it is signed (a retried request after a
   * crash). The signer is the table's only writer, so no agent can give a capability uses back.
   */
  async spendUse(commandId: string, index: number, maxUses: number, requestId: string): Promise<boolean> {
    return writeIf(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: `${USES_PREFIX}${commandId}#${index}`, [SK]: USES_ITEM },
          UpdateExpression: 'ADD #requests :request',
          ConditionExpression: 'attribute_not_exists(#requests) OR contains(#requests, :id) OR size(#requests) < :max',
          ExpressionAttributeNames: { '#requests': 'requests' },
          ExpressionAttributeValues: { ':request': new Set([requestId]), ':id': requestId, ':max': maxUses },
        }),
      ),
    );
  }

  /**
   * Decides a pending request once: signed with its directive, or denied with a reason. False when it was
   * already decided (a concurrent resume won; its outcome stands).
   */
  async settle(requestId: string, outcome: { status: 'signed'; directive: SignedDirective } | { status: 'denied'; reason: ReasonCode }): Promise<boolean> {
    const detail = outcome.status === 'signed' ? { ':d': outcome.directive } : { ':d': outcome.reason };
    return writeIf(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: requestId, [SK]: REQUEST_ITEM },
          UpdateExpression: `SET #status = :to, #detail = :d, #decidedAt = :now`,
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#detail': outcome.status === 'signed' ? 'directive' : 'reason',
            '#decidedAt': 'decidedAt',
          },
          ExpressionAttributeValues: { ':to': outcome.status, ':pending': 'pending', ':now': new Date().toISOString(), ...detail },
        }),
      ),
    );
  }

  /** Notes that a signed request's directive reached its queue. */
  async markDelivered(requestId: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [PK]: requestId, [SK]: REQUEST_ITEM },
        UpdateExpression: 'SET #deliveredAt = :now',
        ConditionExpression: '#status = :signed',
        ExpressionAttributeNames: { '#deliveredAt': 'deliveredAt', '#status': 'status' },
        ExpressionAttributeValues: { ':now': new Date().toISOString(), ':signed': 'signed' },
      }),
    );
  }

  /**
   * Records one human's decision (DESIGN §5). Only `topology.approvers` may vote (NOT_AUTHORIZED, ledgered as
   * `directive.denied`); a second vote by the same approver records nothing, except that an approval may be
   * turned into a rejection (refusing is always allowed); a vote on an unknown or decided request is an
   * ApprovalError. An accepted vote is ledgered as `approval.recorded`.
   */
  async recordApproval(input: ApprovalInput): Promise<ApprovalOutcome> {
    if (!uuidSchema.safeParse(input.requestId).success) throw new SecurityError('SCHEMA', 'requestId must be a UUID');
    const approver = principalSchema.safeParse(input.approver);
    if (!approver.success) throw new SecurityError('SCHEMA', 'approver must be a user name');
    if (!this.topology.approvers.has(approver.data)) return this.refuseNonApprover(input);

    const { request, votes } = await this.load(input.requestId);
    if (!request) throw new ApprovalError('UNKNOWN_REQUEST', `no approval request ${input.requestId}`);
    if (request.status !== 'pending') throw new ApprovalError('ALREADY_DECIDED', `approval request ${input.requestId} is already ${request.status}`);

    const recorded = await this.putVote(input);
    const after = recorded
      ? [...votes.filter((v) => v.approver !== input.approver), { approver: input.approver, decision: input.decision }]
      : votes;
    if (recorded) {
      await this.ledger.append({
        type: 'approval.recorded',
        actor: input.approver,
        commandId: request.commandId,
        // The reason is free text and kept nowhere, so not even its digest is (DESIGN §6: nothing guessable leaves its label).
        detail: {
          requestId: request.requestId,
          decision: input.decision,
          kind: request.kind,
          tool: request.tool ?? null,
          passkey: input.passkey === true,
          ...(input.reason ? { reasoned: true } : {}),
        },
      });
    }
    const approvals = approversWhoApproved(this.topology, after);
    const rejected = after.some((v) => v.decision === 'reject' && this.topology.approvers.has(v.approver));
    return {
      requestId: request.requestId,
      commandId: request.commandId,
      decision: input.decision,
      recorded,
      approvals,
      approvalsNeeded: request.approvalsNeeded,
      rejected,
      ready: rejected || approvals.length >= request.approvalsNeeded,
    };
  }

  /** Requests still waiting for approvers, oldest first, with who approved so far. Digests only, never arguments. */
  async listPending(): Promise<PendingApproval[]> {
    const requests = new Map<string, StoredRequest>();
    const votes = new Map<string, ApprovalVote[]>();
    for await (const page of paginateScan({ client: this.doc }, { TableName: this.tableName, ConsistentRead: true })) {
      for (const item of page.Items ?? []) {
        const id = String(item[PK]);
        if (item[SK] === USES_ITEM || item[SK] === PASSKEY_ITEM) continue;
        if (item[SK] === REQUEST_ITEM) {
          if (item.status === 'pending') requests.set(id, toStoredRequest(item));
        } else {
          votes.set(id, [...(votes.get(id) ?? []), toVote(item)]);
        }
      }
    }
    return [...requests.values()]
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map((r) => ({
        requestId: r.requestId,
        kind: r.kind,
        commandId: r.commandId,
        requester: r.requester,
        target: r.target,
        ...(r.tool ? { tool: r.tool } : {}),
        label: r.label,
        ...(r.declassifyTo ? { declassifyTo: r.declassifyTo } : {}),
        ...(r.argsDigest ? { argsDigest: r.argsDigest } : {}),
        ...(r.contentDigest ? { contentDigest: r.contentDigest } : {}),
        ...(r.release ? { release: r.release } : {}),
        ...(r.releaseRule ? { releaseRule: r.releaseRule } : {}),
        ...(r.shown ? { shown: r.shown } : {}),
        approvalsNeeded: r.approvalsNeeded,
        approvals: approversWhoApproved(this.topology, votes.get(r.requestId) ?? []),
        createdAt: r.createdAt,
      }));
  }

  /** A vote from someone who is not an approver counts for nothing and is ledgered as a refusal. */
  private async refuseNonApprover(input: ApprovalInput): Promise<never> {
    const { request } = await this.load(input.requestId);
    await this.ledger.append({
      type: 'directive.denied',
      actor: 'signer',
      ...(request ? { commandId: request.commandId } : {}),
      reason: 'NOT_AUTHORIZED',
      detail: { requestId: input.requestId, approver: input.approver, decision: input.decision },
    });
    throw new SecurityError('NOT_AUTHORIZED', `${input.approver} is not an approver`);
  }

  /**
   * Writes the vote only while the request is pending (atomically with that check). False when this approver
   * already voted the same way, or tries to turn a rejection into an approval.
   */
  private async putVote(input: ApprovalInput): Promise<boolean> {
    const fresh = 'attribute_not_exists(#sk)';
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.tableName,
                Key: { [PK]: input.requestId, [SK]: REQUEST_ITEM },
                ConditionExpression: '#status = :pending',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':pending': 'pending' },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  [PK]: input.requestId,
                  [SK]: input.approver,
                  decision: input.decision,
                  ...(input.passkey ? { passkey: true } : {}),
                  recordedAt: new Date().toISOString(),
                },
                ConditionExpression: input.decision === 'reject' ? `${fresh} OR #decision = :approve` : fresh,
                ExpressionAttributeNames: { '#sk': SK, ...(input.decision === 'reject' ? { '#decision': 'decision' } : {}) },
                ...(input.decision === 'reject' ? { ExpressionAttributeValues: { ':approve': 'approve' } } : {}),
              },
            },
          ],
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof TransactionCanceledException) {
        const [request, vote] = err.CancellationReasons ?? [];
        if (request?.Code === 'ConditionalCheckFailed') {
          throw new ApprovalError('ALREADY_DECIDED', `approval request ${input.requestId} was decided meanwhile`);
        }
        if (vote?.Code === 'ConditionalCheckFailed') return false;
      }
      throw err;
    }
  }
}
