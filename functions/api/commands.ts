import { randomUUID } from 'node:crypto';
import { votesWithoutPasskeyAllowed } from '../signer/policy/approvals-are-signed-by-passkeys';
import { EnvelopeCipher } from '../kernel/messages/envelope-cipher';
import { Label, dominates, formatLabel, parseLabelText } from '../kernel/labels';
import type { LedgerAppender } from '../kernel/ledger/pending';
import { AgentMessage, agentMessageSchema } from '../kernel/messages/envelope';
import { KERNEL_AGENT } from '../kernel/flow/edges';
import { prepareMessage } from '../kernel/messages/send';
import { unsaltBody } from '../kernel/messages/salted-body';
import { sealIntent } from '../kernel/directives/intent';
import { Capability, toCapabilities } from '../kernel/directives/capabilities';
import { Topology } from '../kernel/topology/topology';
import { Caller } from './caller';
import { CommandItem, CommandStore } from '../stores/commands';
import type { PendingApproval } from '../stores/approvals';
import { ApiError } from './errors';
import { IdempotencyKeys } from '../stores/idempotency-keys';
import { CommandRequest, commandRequestSchema, parseRequest, preAuthorizedLabel, resourceIdSchema } from './schemas';

/** The API's principal name in encryption contexts, messages and the ledger. */
export const API_PRINCIPAL = 'api';
/** The reason a command shows when it was failed for making no progress (`runtime.commandIdleTimeoutSeconds`). */
export const IDLE_TIMEOUT_REASON = 'IDLE_TIMEOUT';

/**
 * How long an undispatched submission is left to the request that started it: longer than API Gateway's
 * 30 s integration timeout, so after it that request can no longer be running and a retry may finish it.
 */
export const RESUME_AFTER_MS = 30_000;

/** What `GET /v1/commands/{id}` answers. Labels are in their text form, e.g. `SECRET/MEDICAL`. */
export interface CommandView {
  commandId: string;
  status: CommandItem['status'];
  label: string;
  createdAt: string;
  updatedAt: string;
  /** Why a command ended `failed` or `denied` (a reason code), when it did. */
  reason?: string;
  result?: string;
  resultLabel?: string;
  /** Present instead of `result` when the caller's clearance does not dominate the result's label. */
  resultWithheld?: { reason: 'READ_UP'; label: string };
  /** What the command allows, as capabilities; shown while the caller is cleared for the command's label. */
  allow?: Capability[];
  /** While `awaiting_approval`: the requests it waits on and who may approve them. */
  awaiting?: AwaitingView[];
}

export interface CommandServiceProps {
  readonly topology: Topology;
  readonly cipher: EnvelopeCipher;
  readonly commands: CommandStore;
  readonly idempotencyKeys: IdempotencyKeys;
  readonly ledger: LedgerAppender;
  /** Puts a message on the kernel agent's queue. */
  readonly sendToCore: (message: AgentMessage) => Promise<void>;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** The requests waiting for approval, to tell an owner who must approve what. @default none shown */
  readonly pendingApprovals?: () => Promise<readonly PendingApproval[]>;
}

/** A request a command waits on, as its owner sees it: what, how many approvals, and who may give them. */
export interface AwaitingView {
  requestId: string;
  kind: 'tool' | 'declassify';
  tool?: string;
  approvalsNeeded: number;
  approvals: readonly string[];
  /** The approvers who may vote on it: listed, not the owner, cleared for its label in the topology. */
  approvers: readonly string[];
  /** True when only an approval signed with a passkey counts (in the console); false when the CLI may vote too. */
  passkeyRequired: boolean;
}

/**
 * Accepts users' commands and shows them their results (DESIGN §8): the user's clearance bounds the
 * command's label, the text is stored and sent only encrypted, and a result is shown only to an owner whose
 * clearance dominates its label.
 */
export class CommandService {
  private readonly props: CommandServiceProps;
  private readonly schema: ReturnType<typeof commandRequestSchema>;
  private readonly now: () => Date;

  constructor(props: CommandServiceProps) {
    this.props = props;
    this.schema = commandRequestSchema(props.topology);
    this.now = props.now ?? (() => new Date());
  }

  /**
   * `POST /v1/commands`. In order, so a crash never leaves a message for a command that is not recorded
   * or a command run without its ledger entry: write the command, ledger `command.accepted`, send the task.
   */
  async submit(caller: Caller, body: unknown, idempotencyKey?: string): Promise<{ commandId: string }> {
    const request = parseRequest(this.schema, body, 'command');
    await this.assertClearanceBoundsLabel(caller, request.classification);
    if (idempotencyKey === undefined) return this.start(caller, randomUUID(), request);
    const claim = await this.props.idempotencyKeys.claim(caller.username, idempotencyKey, request);
    return claim.fresh ? this.start(caller, claim.commandId, request) : this.resume(caller, claim.commandId, request);
  }

  /** `GET /v1/commands/{id}`: one 404 for "no such command" and "not yours", so existence never leaks. */
  async read(caller: Caller, commandId: string): Promise<CommandView> {
    const id = parseRequest(resourceIdSchema, commandId, 'command id');
    const found = await this.props.commands.get(id);
    if (!found || found.owner !== caller.username) throw ApiError.notFound('command');
    const item = await this.endIfIdle(found);
    const view: CommandView = {
      commandId: item.commandId,
      status: item.status,
      label: item.label,
      createdAt: item.createdAt,
      updatedAt: item.updatedAt,
      ...(item.reason ? { reason: item.reason } : {}),
      ...(dominates(caller.clearance, parseLabelText(item.label)) ? { allow: toCapabilities(item.allow) } : {}),
    };
    if (item.status === 'awaiting_approval' && this.props.pendingApprovals) view.awaiting = await this.awaiting(item);
    if (item.resultCiphertext === undefined || item.resultLabel === undefined || item.resultMessageId === undefined) return view;
    const resultLabel = parseLabelText(item.resultLabel);
    view.resultLabel = formatLabel(resultLabel);
    // No read up (DESIGN §2): the caller's current clearance, not the one they had when submitting.
    if (!dominates(caller.clearance, resultLabel)) {
      view.resultWithheld = { reason: 'READ_UP', label: view.resultLabel };
      return view;
    }
    const result = await this.props.cipher.open({
      from: KERNEL_AGENT,
      to: API_PRINCIPAL,
      label: resultLabel,
      messageId: item.resultMessageId,
      commandId: item.commandId,
      ciphertext: item.resultCiphertext,
    });
    view.result = unsaltBody(result).content.toString('utf8');
    return view;
  }

  /** The pending requests of a command, with the approvers the approval rules would let vote on each (DESIGN §5). */
  private async awaiting(item: CommandItem): Promise<AwaitingView[]> {
    const pending = (await this.props.pendingApprovals!()).filter((p) => p.commandId === item.commandId);
    const { topology } = this.props;
    return pending.map((p) => ({
      requestId: p.requestId,
      kind: p.kind,
      ...(p.tool ? { tool: p.tool } : {}),
      approvalsNeeded: p.approvalsNeeded,
      approvals: p.approvals,
      approvers: topology.users
        .filter((u) => topology.approvers.has(u.username) && u.username !== item.owner && dominates(u.clearance, p.label))
        .map((u) => u.username),
      passkeyRequired: !votesWithoutPasskeyAllowed(topology, p),
    }));
  }

  /**
   * Every accepted command ends: one whose messages were refused or lost makes no progress, and once it has been
   * queued or running without any for `runtime.commandIdleTimeoutSeconds` it is failed and ledgered. Awaiting
   * a human's approval is not idle.
   */
  private async endIfIdle(item: CommandItem): Promise<CommandItem> {
    if (item.status !== 'queued' && item.status !== 'running') return item;
    const now = this.now();
    const idleSeconds = Math.floor((now.getTime() - Date.parse(item.updatedAt)) / 1000);
    if (!(idleSeconds >= this.props.topology.runtime.commandIdleTimeoutSeconds)) return item;
    if (!(await this.props.commands.failIdle(item.commandId, item.updatedAt, IDLE_TIMEOUT_REASON, now))) {
      return (await this.props.commands.get(item.commandId)) ?? item;
    }
    await this.props.ledger.append({
      type: 'command.failed',
      actor: API_PRINCIPAL,
      commandId: item.commandId,
      detail: { idleTimeout: true, idleSeconds, was: item.status },
    });
    return { ...item, status: 'failed', reason: IDLE_TIMEOUT_REASON, updatedAt: now.toISOString() };
  }

  /** A user may classify a command only at a label their clearance dominates (DESIGN §2, §8); a refusal is ledgered. */
  private async assertClearanceBoundsLabel(caller: Caller, commandLabel: Label): Promise<void> {
    if (dominates(caller.clearance, commandLabel)) return;
    await this.props.ledger.append({
      type: 'message.rejected',
      actor: API_PRINCIPAL,
      reason: 'NOT_AUTHORIZED',
      detail: { principal: caller.username, label: formatLabel(commandLabel), clearance: formatLabel(caller.clearance) },
    });
    throw ApiError.forbidden(`clearance ${formatLabel(caller.clearance)} does not dominate ${formatLabel(commandLabel)}`);
  }

  private async start(caller: Caller, commandId: string, request: CommandRequest): Promise<{ commandId: string }> {
    const message = await prepareMessage({
      topology: this.props.topology,
      cipher: this.props.cipher,
      from: API_PRINCIPAL,
      to: KERNEL_AGENT,
      kind: 'task',
      label: request.classification,
      commandId,
      principal: caller.username,
      plaintext: request.text,
    });
    // The signer reads what the user allowed, and their words, only from what the API sealed for it (DESIGN §5).
    const declassifyTo = request.declassifyTo ? formatLabel(preAuthorizedLabel(request.declassifyTo, request.classification)) : undefined;
    // A command that allows nothing and pre-authorizes nothing needs no intent: without one, the signer grants nothing.
    const intent =
      request.allow.length > 0 || declassifyTo
        ? await sealIntent(this.props.cipher, commandId, request.classification, {
            owner: caller.username,
            text: request.text,
            allow: toCapabilities(request.allow),
            ...(declassifyTo ? { declassifyTo } : {}),
          })
        : undefined;
    const now = this.now().toISOString();
    const item: CommandItem = {
      commandId,
      owner: caller.username,
      ownerClearance: formatLabel(caller.clearance),
      label: formatLabel(request.classification),
      allow: request.allow,
      ...(intent ? { intent } : {}),
      ...(declassifyTo ? { declassifyTo } : {}),
      status: 'queued',
      textCiphertext: message.ciphertext,
      textMessageId: message.id,
      textDigest: message.contentDigest,
      createdAt: now,
      updatedAt: now,
    };
    // Only a concurrent retry with the same idempotency key can hold this id: it will finish the command.
    if (!(await this.props.commands.create(item))) throw inProgress();
    await this.dispatch(item, message, false);
    return { commandId };
  }

  /**
   * A retry with an idempotency key already used: answers with the same command, finishing it if the
   * request that started it died before the task was sent; never a second command or a second run.
   */
  private async resume(caller: Caller, commandId: string, request: CommandRequest): Promise<{ commandId: string }> {
    const item = await this.props.commands.get(commandId);
    // The first request died before writing the command (or is about to): start it under the claimed id.
    if (!item) return this.start(caller, commandId, request);
    if (item.dispatchedAt !== undefined || item.status !== 'queued') return { commandId };
    const now = this.now();
    if (now.getTime() - Date.parse(item.updatedAt) < RESUME_AFTER_MS) throw inProgress();
    if (!(await this.props.commands.claimResumption(commandId, item.updatedAt, now))) throw inProgress();
    // The very message the first request may have sent: core consumes a message id once (DESIGN §4).
    await this.dispatch(item, taskMessageOf(item), true);
    return { commandId };
  }

  private async dispatch(item: CommandItem, message: AgentMessage, resumed: boolean): Promise<void> {
    await this.props.ledger.append({
      type: 'command.accepted',
      actor: API_PRINCIPAL,
      commandId: item.commandId,
      messageId: message.id,
      digests: { content: message.contentDigest },
      detail: {
        principal: item.owner,
        label: item.label,
        // Tool names only: a capability's values may be classified, the ledger holds none (DESIGN §6).
        allow: [...new Set(toCapabilities(item.allow).map((c) => c.tool))].join(','),
        declassifyTo: item.declassifyTo ?? null,
        ...(resumed ? { resumed: true } : {}),
      },
    });
    await this.props.sendToCore(message);
    await this.props.commands.markDispatched(item.commandId, this.now());
  }
}

function inProgress(): ApiError {
  return ApiError.conflict('a request with this idempotency-key is still in progress; retry later');
}

/** The task message a command was submitted with, rebuilt from its item: same id, same ciphertext. */
function taskMessageOf(item: CommandItem): AgentMessage {
  return agentMessageSchema.parse({
    v: 1,
    id: item.textMessageId,
    from: API_PRINCIPAL,
    to: KERNEL_AGENT,
    kind: 'task',
    label: parseLabelText(item.label),
    commandId: item.commandId,
    principal: item.owner,
    ciphertext: item.textCiphertext,
    contentDigest: item.textDigest,
    sentAt: item.createdAt,
  });
}
