import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { deriveSalt, keyedDigest } from '../kernel/keyed-digest';
import { saltBody, unsaltBody } from '../kernel/messages/salted-body';
import type { DirectiveClaims, SignedDirective } from '../kernel/directives/claims';
import { SecurityError, isSecurityError } from '../kernel/errors';
import { uuidSchema } from '../kernel/schemas';
import { Label, formatLabel, join, label as makeLabel, parseLabelText } from '../kernel/labels';
import { AgentMessage, newMessageId } from '../kernel/messages/envelope';
import { LabelledMessage, ProposedToolCall, ToolSpec } from '../platform/model-client';
import { Release, declassify, needsDeclassification } from '../kernel/flow/declassify';
import { ReleaseProposal, releaseProposalJsonSchema, rulesReleasingTo } from '../kernel/flow/release-rules';
import { CommandItem, CommandStore, ExtraCondition, SealedRef, SubtaskState, isTerminal } from '../stores/commands';
import { tableName } from '../platform/environment';
import { callRequestId } from '../stores/continuations';
import { askModel, wasRefused } from './ask-model';
import type { AgentContext } from './context';
import { openOwnState, sealOwnState } from './own-state';
import { receiveRecord } from './receive';
import { Outgoing, deliverToAgent, sealForAgent, sendToAgent } from './mail';
import { ResultBody, TaskBody, parseBody, resultBodySchema } from './protocol';
import { askSigner } from './ask-signer';

const BOTTOM = makeLabel('UNCLASSIFIED');

/** What the ledger names a proposed delegation to no agent of the topology: the proposed name is model output. */
export const UNKNOWN_DELEGATION = 'unknown';

/** A released task waiting for a human, sealed by core for itself with the salt its digest is keyed with. */
interface PendingRelease {
  readonly body: TaskBody;
  readonly salt: string;
}

/** What core tells its model. The model only proposes delegations; the kernel decides what is sent. */
function systemPrompt(ctx: AgentContext): string {
  const staff = [...ctx.topology.agents.values()]
    .filter((a) => a.name !== ctx.self.name)
    .map((a) => `- ${a.name} (cleared ${formatLabel(a.clearance)}): ${a.description}`)
    .join('\n');
  return `You are core, the kernel agent of a hospital. Answer the user's request, delegating work to the staff below through their functions.\nStaff:\n${staff}`;
}

/** One delegation tool per agent core may send to (the topology's edges). */
function delegationTools(ctx: AgentContext): ToolSpec[] {
  return ctx.self.sendsTo.map((name) => {
    // A write-down goes as a release rule's fields when one fits (DESIGN §6): the model is offered the rules, typed.
    const release = releaseProposalJsonSchema(rulesReleasingTo(ctx.topology, name));
    return {
      name,
      description: ctx.topology.agent(name).description,
      parameters: {
        type: 'object',
        properties: { task: { type: 'string' }, ...(release ? { release } : {}) },
        required: ['task'],
        additionalProperties: false,
      },
    };
  });
}

async function openRef(ctx: AgentContext, commandId: string, ref: SealedRef): Promise<{ value: unknown; label: Label }> {
  const l = parseLabelText(ref.label, ctx.topology.compartments);
  const opened = await ctx.cipher.open({ from: ref.from, to: ref.to, label: l, messageId: ref.messageId, commandId, ciphertext: ref.ciphertext });
  return { value: JSON.parse(unsaltBody(opened).content.toString('utf8')), label: l };
}

/**
 * The kernel agent. A command arrives from the API; core's model proposes delegations; the kernel sends each
 * subtask at the label of what the model read, declassifying (redaction + a signed directive) where the
 * receiver is not cleared for it; results come back; core composes, labels and stores the answer.
 */
export class CoreAgent {
  private readonly commands: CommandStore;

  constructor(private readonly ctx: AgentContext) {
    this.commands = new CommandStore(ctx.doc, tableName(ctx.env, 'commands'));
  }

  async handle(record: SQSRecord): Promise<void> {
    const ahead = this.readAhead(record.body);
    const { message, plaintext, salt, directive } = await receiveRecord(this.ctx, record);
    const command = await this.commandOf(message.commandId, ahead);
    if (!command) throw new SecurityError('NOT_AUTHORIZED', `message for unknown command ${message.commandId}`);
    if (isTerminal(command.status)) return; // a late message for a finished command changes nothing
    if (message.kind === 'task' && message.from === 'api') {
      return this.plan(command, plaintext.toString('utf8'), message.label, message.id, salt);
    }
    if (message.kind === 'result') {
      return this.collect(command, message.from, parseBody(resultBodySchema, plaintext), message);
    }
    if (message.kind === 'directive' && directive) return this.resumeDeclassification(command, directive, message.directive!);
    throw new SecurityError('NOT_AUTHORIZED', `core does not accept ${message.kind} from ${message.from}`);
  }

  /**
   * Starts reading the command a body claims to serve, while the message is received: a read changes nothing, and
   * its item is used only once the message verified and named that command (see {@link commandOf}).
   */
  private readAhead(body: string): { readonly commandId: string; readonly read: Promise<{ item?: CommandItem; error?: unknown }> } | undefined {
    let commandId: unknown;
    try {
      commandId = (JSON.parse(body) as { commandId?: unknown }).commandId;
    } catch {
      return undefined;
    }
    if (typeof commandId !== 'string' || !uuidSchema.safeParse(commandId).success) return undefined;
    return { commandId, read: this.commands.get(commandId).then((item) => ({ item }), (error: unknown) => ({ error })) };
  }

  /** The command a verified message serves: the read started ahead when it was for this command, else a read now. */
  private async commandOf(commandId: string, ahead: ReturnType<CoreAgent['readAhead']>): Promise<CommandItem | undefined> {
    if (ahead?.commandId !== commandId) return this.commands.get(commandId);
    const { item, error } = await ahead.read;
    if (error !== undefined) throw error;
    return item;
  }

  /**
   * The last delivery of a message failed (a fault, not a refusal) and SQS moves it to the dead-letter queue:
   * the command it served fails instead of waiting for ever. Only a message that verifies may end a command.
   */
  async giveUp(record: SQSRecord): Promise<void> {
    const { message } = await receiveRecord(this.ctx, record);
    const command = await this.commands.get(message.commandId);
    if (!command || isTerminal(command.status)) return;
    await this.ctx.ledger.append({
      type: 'command.failed',
      actor: this.ctx.self.name,
      commandId: message.commandId,
      messageId: message.id,
      detail: { sqsMessageId: record.messageId, deadLettered: true },
    });
    await this.commands.update(message.commandId, { status: 'failed' });
  }

  /** `salt`: the command message's sealed salt, a secret of the API and core from which release salts are derived. */
  private async plan(command: CommandItem, text: string, commandLabel: Label, messageId: string, salt: string): Promise<void> {
    const ctx = this.ctx;
    // Processed again after a crash: the plan stands, only what was not yet delegated is sent (work is delegated once).
    if (command.plan) return this.delegateRemaining(command, messageId, salt);
    const prompt: LabelledMessage[] = [
      { role: 'system', content: systemPrompt(ctx), label: BOTTOM },
      { role: 'user', content: text, label: commandLabel },
    ];
    const reply = await askModel(ctx, command.commandId, prompt, delegationTools(ctx));
    if (wasRefused(reply)) return this.failRefused(command, reply.refused);
    const calls: ProposedToolCall[] = [];
    for (const call of reply.toolCalls) if (await this.isDelegation(command, call)) calls.push(call);
    if (calls.length === 0) {
      return this.finish(command, reply.content, reply.label);
    }
    const planMessages: LabelledMessage[] = [...prompt, { role: 'assistant', content: reply.content, label: reply.label, toolCalls: calls }];
    const subtasks: Record<string, SubtaskState> = {};
    for (const call of calls) subtasks[randomUUID()] = { agent: call.name, toolCallId: call.id, status: 'sent', messageId: newMessageId() };
    const plan = await sealOwnState(ctx, command.commandId, reply.label, planMessages);
    // The tasks whose receivers are cleared for them are sealed while the plan is stored: a seal sends nothing, and a
    // plan that is not stored (another delivery stored one first) sends none of them.
    const ahead = new Map<string, Promise<AgentMessage>>();
    for (const [subtaskId, state] of Object.entries(subtasks)) {
      const call = calls.find((c) => c.id === state.toolCallId)!;
      if (needsDeclassification(ctx.topology.agent(state.agent).clearance, reply.label)) continue;
      const sealing = sealForAgent(ctx, taskFor(command, subtaskId, state, (call.args as { task: string }).task, reply.label));
      sealing.catch(() => undefined);
      ahead.set(subtaskId, sealing);
    }
    const updated = await this.commands.update(command.commandId, { status: 'running', plan, subtasks }, {
      condition: 'attribute_not_exists(#plan)',
      names: { '#plan': 'plan' },
    });
    if (!updated) return;
    await this.delegateAll(updated, calls, reply.label, messageId, salt, ahead);
  }

  /** Sends every planned subtask not yet handed to SQS. */
  private async delegateAll(
    command: CommandItem,
    calls: readonly ProposedToolCall[],
    taskLabel: Label,
    messageId: string,
    salt: string,
    ahead?: ReadonlyMap<string, Promise<AgentMessage>>,
  ): Promise<void> {
    const due = Object.entries(command.subtasks ?? {}).flatMap(([subtaskId, state]) => {
      if (state.status !== 'sent' || state.delegated) return [];
      const args = calls.find((c) => c.id === state.toolCallId)?.args as { task: string; release?: ReleaseProposal } | undefined;
      return args ? [{ subtaskId, state, args }] : [];
    });
    // A task its receiver is cleared for is sent as it is: those go out together, each noted as delegated as soon as it
    // left (a crash then sends again only what it may not have sent). A declassification may settle its subtask, and
    // the last settlement composes the answer: those go one at a time, after.
    const cleared = due.filter((d) => !needsDeclassification(this.ctx.topology.agent(d.state.agent).clearance, taskLabel));
    const sends = await Promise.allSettled(
      cleared.map(async (d) => {
        const out = taskFor(command, d.subtaskId, d.state, d.args.task, taskLabel);
        await deliverToAgent(this.ctx, out, await (ahead?.get(d.subtaskId) ?? sealForAgent(this.ctx, out)));
        await this.markDelegated(command.commandId, d.subtaskId);
      }),
    );
    const failed = sends.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const d of due) {
      if (!cleared.includes(d)) await this.delegate(command, d.subtaskId, d.state, d.args.task, d.args.release, taskLabel, messageId, salt);
    }
  }

  /** The delegations of a stored plan that a crash kept from being sent. */
  private async delegateRemaining(command: CommandItem, messageId: string, salt: string): Promise<void> {
    const { value, label: planLabel } = await openOwnState(this.ctx, command.commandId, command.plan!);
    const calls = (value as LabelledMessage[]).flatMap((m) => (m.role === 'assistant' ? (m.toolCalls ?? []) : []));
    await this.delegateAll(command, calls, planLabel, messageId, salt);
  }

  /** A model's proposed delegation is only data: it must name an agent core may send to, with a task. */
  private async isDelegation(command: CommandItem, call: ProposedToolCall): Promise<boolean> {
    const args = call.args as { task?: unknown; release?: unknown } | undefined;
    const ok =
      this.ctx.self.sendsTo.includes(call.name) &&
      typeof args?.task === 'string' &&
      args.task.length > 0 &&
      (args.release === undefined || isReleaseProposal(args.release));
    if (!ok) {
      await this.ctx.ledger.append({
        type: 'tool.denied',
        actor: this.ctx.self.name,
        commandId: command.commandId,
        reason: this.ctx.self.sendsTo.includes(call.name) ? 'SCHEMA' : 'NOT_AUTHORIZED',
        // The proposed name is model output: only an agent's name the topology knows reaches the ledger (DESIGN §6).
        detail: { tool: this.ctx.topology.agents.has(call.name) ? call.name : UNKNOWN_DELEGATION },
      });
    }
    return ok;
  }

  private async delegate(
    command: CommandItem,
    subtaskId: string,
    state: SubtaskState,
    task: string,
    proposal: ReleaseProposal | undefined,
    taskLabel: Label,
    messageId: string,
    salt: string,
  ): Promise<void> {
    const ctx = this.ctx;
    const agent = state.agent;
    const target = ctx.topology.agent(agent);
    if (!needsDeclassification(target.clearance, taskLabel)) {
      await sendToAgent(ctx, taskFor(command, subtaskId, state, task, taskLabel));
      await this.markDelegated(command.commandId, subtaskId);
      return;
    }
    // Write-down (DESIGN §6): built by a release rule from typed fields, or free text (redacted) that a human reads;
    // either goes only under a signed declassification directive. A proposal that fits no rule releases nothing.
    let release: Release;
    try {
      release = declassify(task, proposal, taskLabel, target, ctx.topology);
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      await ctx.ledger.append({
        type: 'tool.denied',
        actor: ctx.self.name,
        commandId: command.commandId,
        reason: err.reason,
        // Names the topology knows only: the proposal's values are model output (DESIGN §6).
        detail: { tool: agent, release: ctx.topology.release.has(String(proposal?.rule)) ? String(proposal?.rule) : 'unknown' },
      });
      return this.settle(command.commandId, subtaskId, { status: 'denied', reason: err.reason }, messageId);
    }
    const lowered = release.label;
    const redacted: TaskBody = { subtaskId, task: release.text };
    // Keyed (DESIGN §6): the same subtask released again after a crash binds the same digest, guessable by no one else.
    const releaseSalt = deriveSalt(salt, `release\n${subtaskId}`);
    const contentDigest = keyedDigest(releaseSalt, JSON.stringify(redacted));
    // One request per subtask, even when a crash makes core ask again: a human never sees it twice.
    const requestId = callRequestId(subtaskId, `declassify:${agent}`, contentDigest);
    const decision = await askSigner(ctx, {
      requestId,
      kind: 'declassify',
      commandId: command.commandId,
      target: agent,
      contentDigest,
      label: taskLabel,
      declassifyTo: lowered,
      // The signer rebuilds a rule-built release from the rule and fields and checks it against contentDigest.
      release:
        release.path === 'rule'
          ? { path: 'rule', rule: release.rule, fields: release.fields, subtaskId, salt: releaseSalt }
          : { path: 'free-text', text: release.text, subtaskId, salt: releaseSalt },
    });
    if (decision.status === 'signed') {
      await this.sendDeclassified(command, subtaskId, state, { body: redacted, salt: releaseSalt }, lowered, decision.directive);
    } else if (decision.status === 'pending') {
      const sealed = await sealOwnState(ctx, command.commandId, taskLabel, { body: redacted, salt: releaseSalt } satisfies PendingRelease);
      await this.commands.update(command.commandId, {
        status: 'awaiting_approval',
        [`subtasks.${subtaskId}.status`]: 'awaiting_approval',
        [`subtasks.${subtaskId}.pending`]: { ...sealed, requestId, declassifiedLabel: formatLabel(lowered) },
      });
    } else {
      await this.settle(command.commandId, subtaskId, { status: 'denied', reason: decision.reason }, messageId);
    }
  }

  private async sendDeclassified(command: CommandItem, subtaskId: string, state: SubtaskState, release: PendingRelease, lowered: Label, directive: SignedDirective) {
    const ctx = this.ctx;
    const agent = state.agent;
    const { body, salt } = release;
    const sent = await sendToAgent(ctx, { to: agent, kind: 'task', label: lowered, commandId: command.commandId, principal: command.owner, body, directive, id: state.messageId, salt });
    await this.markDelegated(command.commandId, subtaskId);
    await ctx.ledger.append({
      type: 'declassified',
      actor: ctx.self.name,
      commandId: command.commandId,
      directiveId: directive.claims.id,
      digests: { content: sent.contentDigest },
      detail: { to: agent, label: formatLabel(lowered) },
    });
  }

  /** A human approved a declassification: the signer's directive arrives; send the redacted task it binds. */
  private async resumeDeclassification(command: CommandItem, claims: DirectiveClaims, directive: SignedDirective): Promise<void> {
    for (const [subtaskId, state] of Object.entries(command.subtasks ?? {})) {
      // Still `sent` and undelegated when a crash interrupted an earlier delivery of this directive.
      const waiting = state.status === 'awaiting_approval' || (state.status === 'sent' && !state.delegated);
      if (!waiting || !state.pending || state.agent !== claims.target) continue;
      const { value } = await openOwnState(this.ctx, command.commandId, state.pending);
      const release = value as PendingRelease;
      if (keyedDigest(release.salt, JSON.stringify(release.body)) !== claims.contentDigest) continue;
      const lowered = parseLabelText(state.pending.declassifiedLabel, this.ctx.topology.compartments);
      const updated = await this.commands.update(command.commandId, { status: 'running', [`subtasks.${subtaskId}.status`]: 'sent' });
      if (!updated) return;
      await this.sendDeclassified(command, subtaskId, state, release, lowered, directive);
      return;
    }
    throw new SecurityError('BINDING_MISMATCH', `no pending declassification matches directive ${claims.id}`);
  }

  private async collect(command: CommandItem, from: string, result: ResultBody, message: { id: string; label: Label; ciphertext: string }) {
    const state = command.subtasks?.[result.subtaskId];
    if (!state || state.agent !== from) {
      throw new SecurityError('BINDING_MISMATCH', `${from} answered a subtask it was not given`);
    }
    if (result.status === 'awaiting_approval') {
      await this.commands.update(command.commandId, { status: 'awaiting_approval', [`subtasks.${result.subtaskId}.status`]: 'awaiting_approval' });
      return;
    }
    const ref: SealedRef = { ciphertext: message.ciphertext, from, to: this.ctx.self.name, label: formatLabel(message.label), messageId: message.id };
    await this.settle(command.commandId, result.subtaskId, { status: result.status, reason: result.reason, result: ref }, message.id, command);
  }

  /** Notes that a subtask's task is on its way, so a plan processed again after a crash does not send it twice. */
  private async markDelegated(commandId: string, subtaskId: string): Promise<void> {
    await this.commands.update(commandId, { [`subtasks.${subtaskId}.delegated`]: true });
  }

  /**
   * Records a subtask's outcome; when none is outstanding, composes the answer (once, claimed by `messageId`). When
   * the command as read at receipt (`known`) shows this outcome closes the last open subtask, one conditional write
   * records the outcome and claims the composition, on the condition that every other subtask is still settled and
   * no other message claimed it; should anything have moved since that read, the two writes go one after the other.
   */
  private async settle(commandId: string, subtaskId: string, outcome: Partial<SubtaskState>, messageId: string, known?: CommandItem): Promise<void> {
    const set: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(outcome)) if (v !== undefined) set[`subtasks.${subtaskId}.${k}`] = v;
    const others = Object.keys(known?.subtasks ?? {}).filter((id) => id !== subtaskId);
    if (known && !isOpenSubtask(outcome) && others.every((id) => !isOpenSubtask(known.subtasks![id]))) {
      const claimed = await this.commands.update(commandId, { ...set, composedBy: messageId }, lastSettlement(others, messageId));
      if (claimed) return this.compose(claimed);
    }
    const updated = await this.commands.update(commandId, set);
    if (!updated) return;
    const states = Object.values(updated.subtasks ?? {});
    const open = states.some(isOpenSubtask);
    if (open) {
      if (updated.status === 'awaiting_approval' && !states.some((s) => s.status === 'awaiting_approval')) {
        await this.commands.update(commandId, { status: 'running' });
      }
      return;
    }
    if (await this.commands.claimComposition(commandId, messageId)) await this.compose(updated);
  }

  private async compose(command: CommandItem): Promise<void> {
    const ctx = this.ctx;
    const { value } = await openOwnState(ctx, command.commandId, command.plan!);
    const messages = (value as LabelledMessage[]).map(reviveLabel);
    for (const state of Object.values(command.subtasks ?? {})) {
      let content: string;
      let l: Label = BOTTOM;
      if (state.result) {
        const opened = await openRef(ctx, command.commandId, state.result);
        const body = opened.value as ResultBody;
        l = opened.label;
        content = body.status === 'completed' ? body.content ?? '' : `[${state.agent}: ${body.status}${body.reason ? ` ${body.reason}` : ''}]`;
      } else {
        content = `[${state.agent}: ${state.status}${state.reason ? ` ${state.reason}` : ''}]`;
      }
      messages.push({ role: 'tool', toolCallId: state.toolCallId, content, label: l });
    }
    const reply = await askModel(ctx, command.commandId, messages, delegationTools(ctx));
    if (wasRefused(reply)) return this.failRefused(command, reply.refused);
    await this.finish(command, reply.content, reply.label);
  }

  /** The egress guard refused core's prompt (already ledgered): the command fails instead of leaking. */
  private async failRefused(command: CommandItem, reason: string): Promise<void> {
    await this.commands.update(command.commandId, { status: 'failed', reason });
  }

  /** Seals the answer for the API at the join of everything core read, and completes the command. */
  private async finish(command: CommandItem, answer: string, answerLabel: Label): Promise<void> {
    const ctx = this.ctx;
    const l = join(answerLabel, parseLabelText(command.label, ctx.topology.compartments));
    const resultMessageId = randomUUID();
    // The salt of the answer's digest is sealed with it: only a reader cleared for the answer can test it (DESIGN §6).
    const { sealed, contentDigest } = saltBody(answer);
    // Sealed first: the ledger never records an answer whose seal then failed. The ledger records the answer before
    // the owner can see it (DESIGN §7: every decision is audited first).
    const resultCiphertext = await ctx.cipher.seal({ from: ctx.self.name, to: 'api', label: l, messageId: resultMessageId, commandId: command.commandId, plaintext: sealed });
    await ctx.ledger.append({
      type: 'command.completed',
      actor: ctx.self.name,
      commandId: command.commandId,
      digests: { result: contentDigest },
      detail: { label: formatLabel(l) },
    });
    await this.commands.update(command.commandId, { status: 'completed', resultCiphertext, resultMessageId, resultLabel: formatLabel(l) });
  }
}

/** A subtask's task as it is sent to a receiver cleared for its label: under the id the plan gave it. */
function taskFor(command: CommandItem, subtaskId: string, state: SubtaskState, task: string, taskLabel: Label): Outgoing {
  const body: TaskBody = { subtaskId, task };
  return { to: state.agent, kind: 'task', label: taskLabel, commandId: command.commandId, principal: command.owner, body, id: state.messageId };
}

/** A subtask still waiting for its task to be sent, answered or approved. */
function isOpenSubtask(state: Partial<SubtaskState>): boolean {
  return state.status === 'sent' || state.status === 'awaiting_approval';
}

/**
 * The condition of the write that settles the last open subtask and claims the composition at once: every other
 * subtask is still settled, and no other message claimed the composition (the claimant's own redelivery may again).
 */
function lastSettlement(others: readonly string[], messageId: string): ExtraCondition {
  // No parentheses around a whole condition: DynamoDB refuses redundant ones, and the store adds its own.
  const claim = { condition: 'attribute_not_exists(#claim) OR #claim = :claimant', names: { '#claim': 'composedBy' }, values: { ':claimant': messageId } };
  if (others.length === 0) return claim;
  // DynamoDB refuses names and values an expression does not use: these are added only with the subtasks they check.
  const names: Record<string, string> = { ...claim.names, '#subtasks': 'subtasks', '#state': 'status' };
  others.forEach((id, i) => (names[`#other${i}`] = id));
  const settled = others.map((_id, i) => `NOT #subtasks.#other${i}.#state IN (:sent, :awaiting)`);
  return {
    condition: [`(${claim.condition})`, ...settled].join(' AND '),
    names,
    values: { ...claim.values, ':sent': 'sent', ':awaiting': 'awaiting_approval' },
  };
}

function reviveLabel(m: LabelledMessage): LabelledMessage {
  return { ...m, label: makeLabel(m.label.level, m.label.compartments) } as LabelledMessage;
}

/** The shape of a release proposal (its values are checked by the release rule, DESIGN §6). */
function isReleaseProposal(v: unknown): v is ReleaseProposal {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const { rule, fields, ...rest } = v as Record<string, unknown>;
  return Object.keys(rest).length === 0 && typeof rule === 'string' && typeof fields === 'object' && fields !== null && !Array.isArray(fields);
}
