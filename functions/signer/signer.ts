import { randomUUID } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApprovalStore, StoredRequest } from '../stores/approvals';
import { CheckpointAnchors } from '../kernel/ledger/checkpoint-anchor';
import { CheckpointOutcome } from '../kernel/ledger/checkpoints';
import { Checkpointer } from './checkpointer';
import { CommandAuthority, CommandStore } from '../stores/commands';
import { BoundRequest, SignerDecision, bindRequest, directiveRequestSchema } from '../kernel/directives/request';
import { DirectiveClaims, SignedDirective, newDirectiveNonce } from '../kernel/directives/claims';
import { signDirective } from '../kernel/directives/sign';
import { isSecurityError } from '../kernel/errors';
import { formatLabel } from '../kernel/labels';
import { LedgerEntryInput } from '../kernel/ledger/entry';
import { LedgerReader, LedgerWriter } from '../kernel/ledger/ledger';
import type { LedgerAppender } from '../kernel/ledger/pending';
import { agentNameSchema, describeIssues, uuidSchema } from '../kernel/schemas';
import type { EnvelopeCipher } from '../kernel/messages/envelope-cipher';
import { OpenedRequest, openRequest } from '../kernel/messages/sealed-request';
import { SecurityError } from '../kernel/errors';
import { ApprovalError } from '../stores/approvals';
import { PasskeyAnswer, VoteAnswer, passkeyRegistrationSchema, voteSchema } from './votes';
import { PasskeyError, RelyingParty, verifyPasskeyRegistration, verifyPasskeyVote } from './passkeys';
import { PasskeyStore } from '../stores/passkeys';
import {
  ApprovalVote,
  CapabilityVerdict,
  Denial,
  approverClearedForWhatTheyApprove,
  approverIsNeitherOwnerNorRequester,
  callFitsACapability,
  decideDirective,
  votesWithoutPasskeyAllowed,
  ruleBuiltReleaseRebuilds,
} from './policy';
import { openIntent } from '../kernel/directives/intent';
import type { VoteToSign } from '../kernel/directives/passkey-challenge';
import { Shown, sealShown, shownOf } from '../kernel/directives/shown';
import { Topology } from '../kernel/topology/topology';
import { countDirectiveSigned } from '../platform/metrics';
import { SIGNER } from '../kernel/flow/edges';

/** Sends an approved directive to the agent that asked for it (a `directive` message on its queue). */
export type DirectiveDelivery = (request: StoredRequest, directive: SignedDirective) => Promise<void>;

export interface SignerProps {
  readonly topology: Topology;
  /** KMS client for `Sign` with the authority key; only the signer's role may use it (DESIGN §3). */
  readonly kms: KMSClient;
  /** The authority key (ECC_NIST_P256, SIGN_VERIFY). */
  readonly authorityKeyArn: string;
  readonly doc: DynamoDBDocumentClient;
  readonly tables: {
    /** TABLES.commands: read for the command's owner, clearance, allowed tools and status. */
    readonly commands: string;
    /** TABLES.approvals: pending requests and human votes. */
    readonly approvals: string;
    /** TABLES.ledger: the chain `ledger` appends to, read for its head, and the partition of its checkpoint anchor. */
    readonly ledger: string;
  };
  /** Records the signer's decisions: pending entries in its own partition, which the sequencer seals. */
  readonly ledger: LedgerAppender;
  /**
   * Appends `checkpoint` entries to the sealed log itself (the signer is its one writer besides the sequencer).
   * @default `ledger`, when that is a `LedgerWriter` of the sealed log
   */
  readonly checkpointLog?: LedgerWriter;
  /** Opens sealed requests, authenticating their requester by KMS (DESIGN §1, §5); the signer reads nothing else with it. */
  readonly cipher: EnvelopeCipher;
  /**
   * Delivers directives that `resume` signs after approvals.
   * @default none: `resume` only returns the directive
   */
  readonly deliver?: DirectiveDelivery;
  /** Clock in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /**
   * The console approvers vote from: passkeys are registered for it and assertions must come from it (DESIGN §5).
   * @default none: no passkey can be registered, and only votes the topology lets go without one count
   */
  readonly relyingParty?: RelyingParty;
}

/** Who signs, in the ledger (the kernel's name for the signer, which agents and the API name without importing this module). */
export const SIGNER_ACTOR = SIGNER;

/** The one function that forwards human votes: it names the approver from the token it verified (DESIGN §5). */
export const VOTE_FORWARDER = 'api';

/** Statuses a command may be denied from: a rejection never rewrites a finished command. */
const LIVE_STATUSES = ['queued', 'running', 'awaiting_approval'] as const;

/**
 * The authority (DESIGN §5): deterministic code, no model. It signs a directive only when `decideDirective`
 * grants it, records pending requests for human approval, and writes one ledger entry per decision. It also
 * signs the ledger's checkpoints (DESIGN §7), the only other use of the authority key.
 *
 * @example
 * const signer = new Signer({ topology, kms, authorityKeyArn, doc, tables: { commands, approvals, ledger: ledgerTable }, ledger });
 * const decision = await signer.request({ requestId, kind: 'tool', requester: 'scheduler', commandId,
 *   target: 'scheduler', tool: 'schedule_appointment', args, label });
 * // after approvals: const resumed = await signer.resume(requestId);
 */
export class Signer {
  readonly approvals: ApprovalStore;
  private readonly topology: Topology;
  private readonly kms: KMSClient;
  private readonly authorityKeyArn: string;
  private readonly commands: CommandStore;
  private readonly ledger: LedgerAppender;
  private readonly deliver?: DirectiveDelivery;
  private readonly now: () => number;
  private readonly checkpointer: Checkpointer;
  private readonly cipher: EnvelopeCipher;
  private readonly passkeys: PasskeyStore;
  private readonly relyingParty?: RelyingParty;

  constructor(props: SignerProps) {
    this.topology = props.topology;
    this.cipher = props.cipher;
    this.kms = props.kms;
    this.authorityKeyArn = props.authorityKeyArn;
    this.commands = new CommandStore(props.doc, props.tables.commands);
    this.ledger = props.ledger;
    this.deliver = props.deliver;
    this.now = props.now ?? Date.now;
    this.approvals = new ApprovalStore({ doc: props.doc, tableName: props.tables.approvals, topology: props.topology, ledger: props.ledger });
    this.passkeys = new PasskeyStore(props.doc, props.tables.approvals);
    this.relyingParty = props.relyingParty;
    const log = props.checkpointLog ?? (props.ledger instanceof LedgerWriter ? props.ledger : undefined);
    if (!log) throw new Error('Signer: checkpointLog is required when ledger is not a writer of the sealed log');
    const chain = { doc: props.doc, tableName: props.tables.ledger, chain: log.chain };
    this.checkpointer = new Checkpointer({
      kms: props.kms,
      authorityKeyArn: props.authorityKeyArn,
      reader: new LedgerReader(chain),
      ledger: log,
      anchors: new CheckpointAnchors(chain),
      every: props.topology.runtime.checkpointEvery,
      actor: SIGNER_ACTOR,
    });
  }

  /**
   * Signs a checkpoint of the ledger's head when `topology.runtime.checkpointEvery` entries were appended since
   * the last one (on schedule), or whenever anything was (`force`, on demand), and anchors it (DESIGN §7).
   */
  checkpoint(force = false): Promise<CheckpointOutcome> {
    return this.checkpointer.checkpoint(force);
  }

  /**
   * Decides a request as it arrives from a caller: sealed by the requesting agent under its KMS-pinned `from`
   * (DESIGN §1, §5). An unsealed request, or one whose seal does not open, is refused UNAUTHENTICATED; the body's
   * self-declared `requester` must be the agent KMS authenticated.
   */
  async receive(event: unknown): Promise<SignerDecision> {
    let opened;
    try {
      opened = await openRequest(this.cipher, event, SIGNER_ACTOR);
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      const reason = err.reason === 'SCHEMA' || err.reason === 'UNAUTHENTICATED' ? 'UNAUTHENTICATED' : err.reason;
      // Nothing in an unauthenticated event is ledgered as a requester: that would be the self-declared name.
      const { requester: _claimed, ...ids } = identifiersOf(event);
      return this.refuse(ids, undefined, { verdict: 'deny', reason, message: err.message });
    }
    const body = opened.body as Record<string, unknown> | null;
    // The envelope binds requestId and commandId in KMS's context: the body may not name others.
    if (typeof body !== 'object' || body === null || body.requestId !== opened.requestId || body.commandId !== opened.commandId) {
      return this.refuse(identifiersOf(opened), undefined, {
        verdict: 'deny',
        reason: 'BINDING_MISMATCH',
        message: 'the sealed request names another request or command than its envelope',
      });
    }
    return this.request(body, opened.from);
  }

  /**
   * Records a human's vote, sealed by the API (the only function that verifies users' tokens), then decides the
   * request when its approvals are complete (DESIGN §5). The signer is the only writer of approvals, so no agent
   * role can forge a vote; a vote sealed by anyone else is refused IMPERSONATION and ledgered.
   */
  async vote(event: unknown): Promise<VoteAnswer> {
    let opened: OpenedRequest;
    try {
      opened = await openRequest(this.cipher, event, SIGNER_ACTOR);
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      const { requester: _claimed, ...ids } = identifiersOf(event);
      await this.ledgerVoteRefusal(ids, 'UNAUTHENTICATED');
      return { status: 'refused', code: 'UNAUTHENTICATED', message: err.message };
    }
    if (opened.from !== VOTE_FORWARDER) {
      await this.ledgerVoteRefusal({ commandId: opened.commandId, requestId: opened.requestId, requester: opened.from }, 'IMPERSONATION');
      return { status: 'refused', code: 'IMPERSONATION', message: `votes are forwarded by ${VOTE_FORWARDER}, not ${opened.from}` };
    }
    const parsed = voteSchema.safeParse(opened.body);
    if (!parsed.success || parsed.data.requestId !== opened.requestId || parsed.data.commandId !== opened.commandId) {
      return { status: 'refused', code: 'SCHEMA', message: parsed.success ? 'the vote names another request than its envelope' : describeIssues(parsed.error) };
    }
    const { requestId, commandId, approver, clearance, decision, reason, digest, passkey } = parsed.data;
    const { request } = await this.approvals.load(requestId);
    if (!request || request.commandId !== commandId) return { status: 'refused', code: 'UNKNOWN_REQUEST', message: `no approval request ${requestId}` };
    if (request.status !== 'pending') return { status: 'refused', code: 'ALREADY_DECIDED', message: `approval request ${requestId} is already ${request.status}` };
    if (digest !== undefined && digest !== (request.argsDigest ?? request.contentDigest)) {
      return { status: 'refused', code: 'DIGEST_MISMATCH', message: `request ${requestId} binds another digest than the one ${approver} was shown` };
    }
    // A second person, cleared for what they approve (DESIGN §1, threat 6; §5); non-approvers are the store's to refuse.
    if (this.topology.approvers.has(approver)) {
      const command = await this.commands.authority(commandId).catch((err: unknown) => {
        if (isSecurityError(err)) return undefined;
        throw err;
      });
      const refusal = approverIsNeitherOwnerNorRequester(approver, command, request) ?? approverClearedForWhatTheyApprove(this.topology, approver, clearance, request);
      if (refusal) {
        const code = refusal.reason === 'READ_UP' ? 'ABOVE_CLEARANCE' : 'SELF_APPROVAL';
        await this.ledger.append({
          type: 'directive.denied',
          actor: SIGNER_ACTOR,
          commandId,
          reason: refusal.reason,
          detail: { vote: true, requestId, approver, decision, refused: code },
        });
        return { status: 'refused', code, message: refusal.message };
      }
    }
    // The person's signature (DESIGN §5): an approval is a passkey assertion over this very vote unless the topology
    // lets this request go without one; an assertion that does not verify counts for nothing, whatever was decided.
    let signed = false;
    const needsPasskey = decision === 'approve' && !votesWithoutPasskeyAllowed(this.topology, request);
    if (this.topology.approvers.has(approver) && (passkey !== undefined || needsPasskey)) {
      const refusal = await this.verifyVote(approver, passkey, { requestId, commandId, digest: request.argsDigest ?? request.contentDigest ?? '', decision });
      if (refusal) {
        await this.ledger.append({
          type: 'directive.denied',
          actor: SIGNER_ACTOR,
          commandId,
          reason: refusal.code === 'PASSKEY_REQUIRED' ? 'NOT_AUTHORIZED' : 'UNAUTHENTICATED',
          detail: { vote: true, requestId, approver, decision, refused: refusal.code },
        });
        return { status: 'refused', ...refusal };
      }
      signed = true;
    }
    let outcome;
    try {
      outcome = await this.approvals.recordApproval({ requestId, approver, decision, ...(reason ? { reason } : {}), ...(signed ? { passkey: true } : {}) });
    } catch (err) {
      if (err instanceof ApprovalError) return { status: 'refused', code: err.code, message: err.message };
      if (err instanceof SecurityError) return { status: 'refused', code: err.reason === 'NOT_AUTHORIZED' ? 'NOT_AN_APPROVER' : 'SCHEMA', message: err.message };
      throw err;
    }
    const answer = {
      status: 'recorded' as const,
      requestId,
      commandId: outcome.commandId,
      decision: outcome.decision,
      recorded: outcome.recorded,
      approvals: outcome.approvals,
      approvalsNeeded: outcome.approvalsNeeded,
    };
    if (!outcome.ready) return { ...answer, outcome: 'pending' };
    return { ...answer, outcome: (await this.resume(requestId)).status };
  }

  /** Undefined when `assertion` is `approver`'s passkey signing `vote`; else why the vote counts for nothing. */
  private async verifyVote(
    approver: string,
    assertion: unknown,
    vote: VoteToSign,
  ): Promise<{ code: 'PASSKEY_REQUIRED' | 'PASSKEY_INVALID'; message: string } | undefined> {
    if (assertion === undefined) {
      const where = this.topology.votesWithoutPasskey;
      const allowed = [...where.tools, ...(where.declassify ? ['declassification'] : [])];
      return {
        code: 'PASSKEY_REQUIRED',
        message: `this approval must be signed with ${approver}'s passkey (approve it in the console); the topology allows votes without a passkey ${allowed.length ? `only for ${allowed.join(', ')}` : 'for nothing'}`,
      };
    }
    const stored = this.relyingParty ? await this.passkeys.load(approver) : undefined;
    if (!this.relyingParty || !stored) return { code: 'PASSKEY_INVALID', message: `${approver} has no passkey registered with this deployment's console` };
    try {
      const counter = await verifyPasskeyVote(this.relyingParty, stored, assertion, vote);
      if (!(await this.passkeys.advanceCounter(approver, stored.credentialId, counter))) {
        return { code: 'PASSKEY_INVALID', message: `the assertion's signature counter did not move forward: a replayed or cloned passkey of ${approver}` };
      }
      return undefined;
    } catch (err) {
      if (err instanceof PasskeyError) return { code: 'PASSKEY_INVALID', message: err.message };
      throw err;
    }
  }

  /**
   * Registers an approver's passkey, forwarded and sealed by the API for the token's user (DESIGN §5). The signer is
   * the only writer of passkeys (IAM), verifies the ceremony itself, and never replaces a passkey: an approver's first
   * one is their only one, so nobody who later holds a session of theirs can add a key that votes as them.
   */
  async registerPasskey(event: unknown): Promise<PasskeyAnswer> {
    let opened: OpenedRequest;
    try {
      opened = await openRequest(this.cipher, event, SIGNER_ACTOR);
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      await this.ledger.append({ type: 'directive.denied', actor: SIGNER_ACTOR, reason: 'UNAUTHENTICATED', detail: { passkey: true } });
      return { status: 'refused', code: 'UNAUTHENTICATED', message: err.message };
    }
    if (opened.from !== VOTE_FORWARDER) {
      await this.ledger.append({ type: 'directive.denied', actor: SIGNER_ACTOR, reason: 'IMPERSONATION', detail: { passkey: true, sealedBy: opened.from } });
      return { status: 'refused', code: 'IMPERSONATION', message: `passkeys are registered through ${VOTE_FORWARDER}, not ${opened.from}` };
    }
    const parsed = passkeyRegistrationSchema.safeParse(opened.body);
    if (!parsed.success) return { status: 'refused', code: 'SCHEMA', message: describeIssues(parsed.error) };
    const { username, response } = parsed.data;
    const refuse = async (code: 'NOT_AN_APPROVER' | 'PASSKEY_EXISTS' | 'PASSKEY_INVALID' | 'NO_RELYING_PARTY', message: string): Promise<PasskeyAnswer> => {
      await this.ledger.append({
        type: 'directive.denied',
        actor: SIGNER_ACTOR,
        reason: code === 'PASSKEY_INVALID' ? 'UNAUTHENTICATED' : 'NOT_AUTHORIZED',
        detail: { passkey: true, username, refused: code },
      });
      return { status: 'refused', code, message };
    };
    if (!this.topology.approvers.has(username)) return refuse('NOT_AN_APPROVER', `${username} is not an approver: passkeys sign approvals`);
    if (!this.relyingParty) return refuse('NO_RELYING_PARTY', 'this deployment names no console origin (AGENTSEC_CONSOLE_ORIGIN) to register passkeys for');
    if (await this.passkeys.load(username)) return refuse('PASSKEY_EXISTS', `${username} already has a passkey; only an operator can remove it`);
    let passkey;
    try {
      passkey = await verifyPasskeyRegistration(this.relyingParty, username, response, new Date(this.now()));
    } catch (err) {
      if (err instanceof PasskeyError) return refuse('PASSKEY_INVALID', err.message);
      throw err;
    }
    if (!(await this.passkeys.register(passkey))) return refuse('PASSKEY_EXISTS', `${username} already has a passkey; only an operator can remove it`);
    await this.ledger.append({ type: 'passkey.registered', actor: SIGNER_ACTOR, detail: { username, credential: passkey.credentialId } });
    return { status: 'registered', username, credentialId: passkey.credentialId, createdAt: passkey.createdAt };
  }

  private async ledgerVoteRefusal(ids: Partial<BoundRequest>, reason: 'UNAUTHENTICATED' | 'IMPERSONATION'): Promise<void> {
    await this.ledger.append({
      type: 'directive.denied',
      actor: SIGNER_ACTOR,
      ...(ids.commandId ? { commandId: ids.commandId } : {}),
      reason,
      detail: { vote: true, ...(ids.requestId ? { requestId: ids.requestId } : {}), ...(ids.requester ? { sealedBy: ids.requester } : {}) },
    });
  }

  /**
   * Decides a directive request (untrusted input: it comes from an agent that may be compromised) whose requester
   * was authenticated as `requester`; a body that names anyone else is refused IMPERSONATION.
   */
  async request(input: unknown, requester: string): Promise<SignerDecision> {
    const parsed = directiveRequestSchema.safeParse(input);
    if (!parsed.success) return this.refuse(identifiersOf(input), undefined, schemaDenial(describeIssues(parsed.error)));
    if (parsed.data.requester !== requester) {
      return this.refuse({ ...identifiersOf(input), requester }, undefined, {
        verdict: 'deny',
        reason: 'IMPERSONATION',
        message: `request names requester ${parsed.data.requester} but was sealed by ${requester}`,
      });
    }
    let bound: BoundRequest;
    try {
      bound = bindRequest(parsed.data);
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      return this.refuse({ ...identifiersOf(input), requester }, undefined, { verdict: 'deny', reason: err.reason, message: err.message });
    }
    // Before anything is stored: only a release the signer rebuilt is bound as rule-built (DESIGN §6).
    const notRebuilt = parsed.data.kind === 'declassify' ? ruleBuiltReleaseRebuilds(this.topology, parsed.data) : undefined;
    if (notRebuilt) return this.refuse(bound, undefined, notRebuilt);
    const shown = shownOf(this.topology, parsed.data);
    if (parsed.data.kind === 'declassify' && parsed.data.release.path === 'free-text' && parsed.data.release.text !== undefined && shown.kind === 'declassify' && shown.text === null) {
      return this.refuse(bound, undefined, { verdict: 'deny', reason: 'BINDING_MISMATCH', message: 'the free text sent is not the content its digest binds' });
    }
    const { request: stored, votes } = await this.approvals.load(bound.requestId);
    const args = parsed.data.kind === 'tool' ? parsed.data.args : undefined;
    return stored ? this.continueStored(bound, stored, votes) : this.decide(bound, undefined, [], args, shown);
  }

  /**
   * Decides a pending request again, after approvals were recorded. A granted request is signed once, stored,
   * and handed to `deliver`; calling again returns the same outcome (and retries a failed delivery).
   */
  async resume(requestId: string): Promise<SignerDecision> {
    if (!uuidSchema.safeParse(requestId).success) return this.refuse({}, undefined, schemaDenial('requestId must be a UUID'));
    const { request: stored, votes } = await this.approvals.load(requestId);
    if (!stored) {
      return this.refuse({ requestId }, undefined, { verdict: 'deny', reason: 'NOT_AUTHORIZED', message: `no approval request ${requestId}` });
    }
    const decision = await this.outcomeOf(stored, votes);
    if (decision.status === 'signed' && this.deliver) await this.deliverOnce(requestId, decision.directive);
    return decision;
  }

  /** A request whose id is already recorded: one request id names one request for ever, so its approvals are never spent on another. */
  private continueStored(request: BoundRequest, stored: StoredRequest, votes: readonly ApprovalVote[]): Promise<SignerDecision> {
    if (sameBinding(stored, request)) return this.outcomeOf(stored, votes);
    return this.refuse(request, undefined, { verdict: 'deny', reason: 'BINDING_MISMATCH', message: `request id ${request.requestId} names another request` });
  }

  /** The outcome of a stored request: its recorded decision, or the policy's decision now. */
  private async outcomeOf(stored: StoredRequest, votes: readonly ApprovalVote[]): Promise<SignerDecision> {
    if (stored.status === 'signed' && stored.directive) return { status: 'signed', requestId: stored.requestId, directive: stored.directive };
    if (stored.status === 'denied') {
      return { status: 'denied', requestId: stored.requestId, reason: stored.reason ?? 'NOT_AUTHORIZED', message: `request ${stored.requestId} was denied` };
    }
    return this.decide(stored, stored, votes);
  }

  private async decide(
    request: BoundRequest,
    stored: StoredRequest | undefined,
    votes: readonly ApprovalVote[],
    args?: unknown,
    shown?: Shown,
  ): Promise<SignerDecision> {
    let command: CommandAuthority | undefined;
    try {
      command = await this.commands.authority(request.commandId);
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      return this.refuse(request, stored, { verdict: 'deny', reason: 'NOT_AUTHORIZED', message: err.message });
    }
    const impostor = command ? await this.ownerNotSealed(command) : undefined;
    if (impostor) return this.refuse(request, stored, impostor);
    if (command && request.kind === 'declassify') command = await this.withSealedPreAuthorization(command);
    const capability = await this.capabilityFor(request, command, stored, args);
    const verdict = decideDirective({ topology: this.topology, request, command, votes, capability });
    if (verdict.verdict === 'deny') return this.refuse(request, stored, verdict);
    const fits = capability?.verdict === 'fits' ? capability : undefined;
    if (verdict.verdict === 'grant') return this.sign(request, command as CommandAuthority, stored, fits);
    const pending: SignerDecision = {
      status: 'pending',
      requestId: request.requestId,
      approvalsNeeded: verdict.approvalsNeeded,
      approvals: verdict.approvals,
    };
    if (stored) return pending;
    // What the approvers will see, sealed for the API at the request's label (DESIGN §5: informed approval).
    const sealedShown = shown ? await sealShown(this.cipher, request.commandId, request.label, shown) : undefined;
    const extra = { ...(fits ? { capability: fits.index, maxUses: fits.maxUses } : {}), ...(sealedShown ? { shown: sealedShown } : {}) };
    if (!(await this.approvals.open(request, verdict.approvalsNeeded, extra))) {
      // Another request took this id first.
      const { request: winner, votes: recorded } = await this.approvals.load(request.requestId);
      if (!winner) throw new Error(`approval request ${request.requestId} vanished`);
      return this.continueStored(request, winner, recorded);
    }
    await this.record(request, { type: 'directive.requested', detail: { approvalsNeeded: verdict.approvalsNeeded } });
    return pending;
  }

  /**
   * The capability a high or critical call fits (DESIGN §5), read from the intent the API sealed for the signer: a
   * request that waits for approvals keeps the one it fitted when it arrived with its arguments. Undefined for
   * requests that are not such calls (the policy decides those on its own).
   */
  private async capabilityFor(
    request: BoundRequest,
    command: CommandAuthority | undefined,
    stored: StoredRequest | undefined,
    args: unknown,
  ): Promise<CapabilityVerdict | undefined> {
    const tool = request.kind === 'tool' ? this.topology.tools.get(request.tool as string) : undefined;
    if (!tool || tool.priority === 'low' || !command) return undefined;
    if (stored) {
      return stored.capability === undefined
        ? { verdict: 'deny', reason: 'NOT_AUTHORIZED', message: `request ${stored.requestId} fits no capability` }
        : { verdict: 'fits', index: stored.capability, maxUses: stored.maxUses };
    }
    if (!command.intent) return { verdict: 'deny', reason: 'NOT_AUTHORIZED', message: `command ${command.commandId} carries no intent sealed by the API` };
    try {
      return callFitsACapability(tool, args, await openIntent(this.cipher, command.commandId, command.label, command.intent));
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      return { verdict: 'deny', reason: err.reason, message: err.message };
    }
  }

  /**
   * A command whose owner is not the user the API sealed in its intent was rewritten by another writer of the
   * commands table (DESIGN §1: identity is never self-declared): nothing is signed for it. A command without an intent
   * authorizes no high-priority call and pre-authorizes nothing, so its owner field stays the table's.
   */
  private async ownerNotSealed(command: CommandAuthority): Promise<Denial | undefined> {
    if (!command.intent) return undefined;
    try {
      const intent = await openIntent(this.cipher, command.commandId, command.label, command.intent);
      if (intent.owner === command.owner) return undefined;
      return { verdict: 'deny', reason: 'BINDING_MISMATCH', message: `command ${command.commandId} names ${command.owner}, the API sealed it for ${intent.owner}` };
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      return { verdict: 'deny', reason: err.reason, message: err.message };
    }
  }

  /**
   * The command with the pre-authorization the API sealed in its intent (DESIGN §6), never the table's plain
   * `declassifyTo`, which other principals may write. An intent that is missing or does not open pre-authorizes
   * nothing: the release waits for approvers.
   */
  private async withSealedPreAuthorization(command: CommandAuthority): Promise<CommandAuthority> {
    const { declassifyTo: _plain, ...rest } = command;
    if (!command.intent) return rest;
    try {
      const intent = await openIntent(this.cipher, command.commandId, command.label, command.intent);
      return intent.declassifyTo ? { ...rest, declassifyTo: intent.declassifyTo } : rest;
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      return rest;
    }
  }

  private async sign(
    request: BoundRequest,
    command: CommandAuthority,
    stored: StoredRequest | undefined,
    capability?: Extract<CapabilityVerdict, { verdict: 'fits' }>,
  ): Promise<SignerDecision> {
    // A capability with a use limit is spent before anything is signed; the same request spends one use however often it asks.
    if (capability?.maxUses !== undefined && !(await this.approvals.spendUse(request.commandId, capability.index, capability.maxUses, request.requestId))) {
      return this.refuse(request, stored, {
        verdict: 'deny',
        reason: 'CAPABILITY_EXHAUSTED',
        message: `the capability for ${request.tool} on command ${request.commandId} allows ${capability.maxUses} use(s), all spent`,
      });
    }
    const issuedAt = this.now();
    const claims: DirectiveClaims = {
      v: 1,
      id: randomUUID(),
      nonce: newDirectiveNonce(),
      kind: request.kind,
      issuedAt,
      expiresAt: issuedAt + this.topology.runtime.directiveTtlSeconds * 1000,
      principal: command.owner,
      commandId: request.commandId,
      target: request.target,
      label: request.label,
      ...(request.kind === 'tool'
        ? { tool: request.tool, argsDigest: request.argsDigest }
        : { contentDigest: request.contentDigest, declassifyTo: request.declassifyTo }),
    };
    const directive = await signDirective(this.kms, this.authorityKeyArn, claims);
    if (stored && !(await this.approvals.settle(stored.requestId, { status: 'signed', directive }))) {
      return this.settledElsewhere(stored.requestId);
    }
    await this.record(request, {
      type: 'directive.signed',
      directiveId: claims.id,
      detail: { expiresAt: claims.expiresAt, ...(capability ? { capability: capability.index } : {}) },
    });
    countDirectiveSigned();
    return { status: 'signed', requestId: request.requestId, directive };
  }

  /** Denies, records the denial once, and ends the command when an approver rejected the request. */
  private async refuse(request: Partial<BoundRequest>, stored: StoredRequest | undefined, denial: Denial): Promise<SignerDecision> {
    if (stored && !(await this.approvals.settle(stored.requestId, { status: 'denied', reason: denial.reason }))) {
      return this.settledElsewhere(stored.requestId);
    }
    const commandDenied =
      denial.rejected === true &&
      request.commandId !== undefined &&
      (await this.commands.transition(request.commandId, LIVE_STATUSES, 'denied', denial.reason));
    await this.record(request, {
      type: 'directive.denied',
      reason: denial.reason,
      detail: { rejected: denial.rejected === true, commandDenied },
    });
    return {
      status: 'denied',
      ...(request.requestId ? { requestId: request.requestId } : {}),
      reason: denial.reason,
      message: denial.message,
    };
  }

  /** A concurrent resume decided the request first: its stored outcome is the answer. */
  private async settledElsewhere(requestId: string): Promise<SignerDecision> {
    const { request, votes } = await this.approvals.load(requestId);
    if (!request || request.status === 'pending') throw new Error(`approval request ${requestId} lost its decision`);
    return this.outcomeOf(request, votes);
  }

  /**
   * At least once: a failed delivery is retried by the next `resume`. A duplicate is harmless, the receiver
   * consumes the directive's nonce once (DESIGN §5).
   */
  private async deliverOnce(requestId: string, directive: SignedDirective): Promise<void> {
    const { request } = await this.approvals.load(requestId);
    if (!request || request.deliveredAt) return;
    await this.deliver!(request, directive);
    await this.approvals.markDelivered(requestId);
  }

  /** One ledger entry per decision, with identifiers, labels and digests only (DESIGN §7). */
  private async record(
    request: Partial<BoundRequest>,
    entry: Pick<LedgerEntryInput, 'type' | 'reason' | 'directiveId'> & { detail?: Record<string, string | number | boolean | null> },
  ): Promise<void> {
    const digests = {
      ...(request.argsDigest ? { args: request.argsDigest } : {}),
      ...(request.contentDigest ? { content: request.contentDigest } : {}),
    };
    await this.ledger.append({
      type: entry.type,
      actor: SIGNER_ACTOR,
      ...(request.commandId ? { commandId: request.commandId } : {}),
      ...(entry.reason ? { reason: entry.reason } : {}),
      ...(entry.directiveId ? { directiveId: entry.directiveId } : {}),
      ...(Object.keys(digests).length > 0 ? { digests } : {}),
      detail: {
        ...(request.requestId ? { requestId: request.requestId } : {}),
        ...(request.kind ? { kind: request.kind } : {}),
        ...(request.requester ? { requester: request.requester } : {}),
        ...(request.target ? { target: request.target } : {}),
        // A name the topology does not know is the requester's text, not the kernel's: it is not ledgered.
        ...(request.tool ? { tool: this.topology.tools.has(request.tool) ? request.tool : 'unknown' } : {}),
        ...(request.label ? { label: formatLabel(request.label) } : {}),
        ...(request.declassifyTo ? { declassifyTo: formatLabel(request.declassifyTo) } : {}),
        ...entry.detail,
      },
    });
  }
}

function schemaDenial(message: string): Denial {
  return { verdict: 'deny', reason: 'SCHEMA', message };
}

/** The identifiers of a malformed request that are safe to ledger: well-formed ones only, never free text. */
function identifiersOf(input: unknown): Partial<BoundRequest> {
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const requestId = uuidSchema.safeParse(raw.requestId);
  const commandId = uuidSchema.safeParse(raw.commandId);
  const requester = agentNameSchema.safeParse(raw.requester);
  return {
    ...(requestId.success ? { requestId: requestId.data } : {}),
    ...(commandId.success ? { commandId: commandId.data } : {}),
    ...(requester.success ? { requester: requester.data } : {}),
  };
}

/** The same request: every field a directive would bind. */
function sameBinding(a: BoundRequest, b: BoundRequest): boolean {
  const fields = (r: BoundRequest) =>
    JSON.stringify([
      r.kind,
      r.requester,
      r.commandId,
      r.target,
      formatLabel(r.label),
      r.tool ?? null,
      r.argsDigest ?? null,
      r.contentDigest ?? null,
      r.declassifyTo ? formatLabel(r.declassifyTo) : null,
      r.release ?? null,
      r.releaseRule ?? null,
    ]);
  return fields(a) === fields(b);
}
