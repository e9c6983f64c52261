import type { SQSRecord } from 'aws-lambda';
import type { DirectiveClaims, SignedDirective } from '../kernel/directives/claims';
import { tableName } from '../platform/environment';
import { SecurityError, isSecurityError } from '../kernel/errors';
import { canonicalJson } from '../kernel/canonical';
import { argsDigest } from '../kernel/directives/claims';
import { deriveSalt } from '../kernel/keyed-digest';
import { Label, join, label as makeLabel } from '../kernel/labels';
import type { AgentMessage } from '../kernel/messages/envelope';
import { LabelledMessage, ModelClient, ProposedToolCall } from '../platform/model-client';
import { runTool } from '../kernel/tools/tool-runtime';
import { toolSpecs } from '../tools/registry';
import { askModel, wasRefused } from './ask-model';
import type { AgentContext } from './context';
import { openOwnState, sealOwnState } from './own-state';
import { receiveRecord } from './receive';
import { ContinuationStore, callRequestId } from '../stores/continuations';
import { sendToAgent } from './mail';
import { ResultBody, directiveBodySchema, parseBody, taskBodySchema } from './protocol';
import { askSigner } from './ask-signer';

const BOTTOM = makeLabel('UNCLASSIFIED');
/** Bounds a model's tool loop: a model that keeps proposing calls does not keep an agent busy forever. */
const MAX_ROUNDS = 4;

/** Suspended work, sealed from this agent to itself while a critical tool waits for approvals. */
interface Continuation {
  readonly requestId: string;
  readonly subtaskId: string;
  readonly messages: LabelledMessage[];
  readonly call: ProposedToolCall;
  /** The salt the suspended call's arguments digest was asked under: the directive binds that digest. */
  readonly argsSalt: string;
  readonly remaining: ProposedToolCall[];
}

type Outcome = { kind: 'done'; content: string; label: Label } | { kind: 'suspended'; requestId: string; label: Label };

/**
 * Every agent other than core: reads what it is cleared for, runs its model with its own tools (the tool
 * runtime decides, under signed directives for high and critical tools), and answers core at the join of
 * everything it read.
 */
export class EffectorAgent {
  private readonly continuations: ContinuationStore;

  constructor(private readonly ctx: AgentContext) {
    this.continuations = new ContinuationStore(ctx.doc, tableName(ctx.env, 'continuations'), ctx.self.name);
  }

  async handle(record: SQSRecord): Promise<void> {
    const ctx = this.ctx;
    const { message, plaintext, salt, directive } = await receiveRecord(ctx, record);
    if (message.kind === 'task') {
      const body = parseBody(taskBodySchema, plaintext);
      const messages: LabelledMessage[] = [
        { role: 'system', content: this.systemPrompt(), label: BOTTOM },
        { role: 'user', content: body.task, label: message.label },
      ];
      return this.report(message, body.subtaskId, await this.work(message, salt, body.subtaskId, messages));
    }
    if (message.kind === 'directive' && directive && message.directive) {
      const { requestId } = parseBody(directiveBodySchema, plaintext);
      return this.resume(message, salt, requestId, directive, message.directive);
    }
    throw new SecurityError('NOT_AUTHORIZED', `${ctx.self.name} does not accept ${message.kind} messages`);
  }

  /**
   * The last delivery of a message failed (a fault, not a refusal) and SQS moves it to the dead-letter queue:
   * core hears that the subtask failed, so the command still ends. Only a message that verifies is answered.
   */
  async giveUp(record: SQSRecord): Promise<void> {
    const ctx = this.ctx;
    const { message, plaintext } = await receiveRecord(ctx, record);
    let subtaskId: string | undefined;
    if (message.kind === 'task') subtaskId = parseBody(taskBodySchema, plaintext).subtaskId;
    if (message.kind === 'directive') subtaskId = (await this.continuation(message, parseBody(directiveBodySchema, plaintext).requestId))?.subtaskId;
    if (!subtaskId) return;
    await sendToAgent(ctx, {
      to: 'core',
      kind: 'result',
      // No write down (DESIGN §2): at least this agent's own clearance, whatever the task's.
      label: join(message.label, ctx.self.clearance),
      commandId: message.commandId,
      principal: message.principal,
      body: { subtaskId, status: 'failed' } satisfies ResultBody,
    });
  }

  private systemPrompt(): string {
    const tools = this.ctx.self.tools.join(', ') || 'none';
    return `You are ${this.ctx.self.name}: ${this.ctx.self.description} Your tools: ${tools}. Answer the task concisely.`;
  }

  /** The model/tool loop. Each tool result enters the prompt at the tool's result label, so labels only rise. */
  private async work(message: AgentMessage, salt: string, subtaskId: string, messages: LabelledMessage[], queued: ProposedToolCall[] = []): Promise<Outcome> {
    const ctx = this.ctx;
    const tools = toolSpecs(ctx.topology, ctx.self.name, ctx.tools);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let calls = queued;
      queued = [];
      if (calls.length === 0) {
        const reply = await askModel(ctx, message.commandId, messages, tools);
        if (wasRefused(reply)) return { kind: 'done', content: `[refused: ${reply.refused}]`, label: ModelClient.promptLabel(messages) };
        if (reply.toolCalls.length === 0) return { kind: 'done', content: reply.content, label: reply.label };
        messages.push({ role: 'assistant', content: reply.content, label: reply.label, toolCalls: [...reply.toolCalls] });
        calls = [...reply.toolCalls];
      }
      while (calls.length > 0) {
        const call = calls.shift()!;
        const outcome = await this.callTool(message, salt, subtaskId, messages, call, calls);
        if (outcome) return outcome;
      }
    }
    return { kind: 'done', content: messages.filter((m) => m.role === 'tool').map((m) => m.content).join('\n'), label: ModelClient.promptLabel(messages) };
  }

  /** Runs one proposed call through the kernel; high and critical tools first need the signer's directive. */
  private async callTool(
    message: AgentMessage,
    salt: string,
    subtaskId: string,
    messages: LabelledMessage[],
    call: ProposedToolCall,
    remaining: ProposedToolCall[],
    directive?: SignedDirective,
    argsSalt: string = callSalt(salt, call),
  ): Promise<Outcome | undefined> {
    const ctx = this.ctx;
    const tool = ctx.topology.tools.get(call.name);
    const taskLabel = ModelClient.promptLabel(messages);
    if (!directive && tool && tool.priority !== 'low' && tool.owners.includes(ctx.self.name)) {
      // Processed again after a crash, the call runs under the directive it already had (exactly one effect).
      const requestId = callRequestId(message.id, call.name, argsDigest(call.args, argsSalt));
      directive = await this.continuations.pinned(requestId);
      if (!directive) {
        const decision = await askSigner(ctx, {
          requestId,
          kind: 'tool',
          commandId: message.commandId,
          target: ctx.self.name,
          tool: call.name,
          args: call.args as never,
          argsSalt,
          label: taskLabel,
        });
        if (decision.status === 'pending') {
          await this.suspend(requestId, message, { subtaskId, messages, call, argsSalt, remaining }, taskLabel);
          return { kind: 'suspended', requestId, label: taskLabel };
        }
        if (decision.status === 'signed') directive = await this.continuations.pin(requestId, message.commandId, decision.directive);
      }
    }
    let content: string;
    let resultLabel: Label = BOTTOM;
    try {
      const result = await runTool({
        topology: ctx.topology,
        agent: ctx.self.name,
        call: { tool: call.name, args: call.args },
        commandId: message.commandId,
        principal: message.principal,
        messageId: message.id,
        directive,
        argsSalt,
        label: taskLabel,
        verifier: ctx.verifier,
        singleUse: ctx.singleUse,
        outbox: ctx.outbox,
        ledger: ctx.ledger,
        registry: ctx.tools,
        records: { source: ctx.records, cipher: ctx.cipher },
      });
      content = result.content;
      resultLabel = result.label;
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      content = `[refused: ${err.reason}]`;
    }
    messages.push({ role: 'tool', toolCallId: call.id, content, label: resultLabel });
    return undefined;
  }

  /** Suspends the work under the request id until the approvals are in; an earlier attempt of this message may have already. */
  private async suspend(requestId: string, message: AgentMessage, state: Omit<Continuation, 'requestId'>, l: Label): Promise<void> {
    const sealed = await sealOwnState(this.ctx, message.commandId, l, { ...state, requestId } satisfies Continuation);
    await this.continuations.suspend({ requestId, commandId: message.commandId, principal: message.principal, ...sealed });
  }

  /** Approvals completed: the signer's directive arrives; finish the suspended call under it. */
  private async resume(message: AgentMessage, salt: string, requestId: string, claims: DirectiveClaims, directive: SignedDirective): Promise<void> {
    const state = await this.continuation(message, requestId);
    if (!state || message.commandId !== claims.commandId) {
      throw new SecurityError('BINDING_MISMATCH', `no suspended work ${requestId} for this directive`);
    }
    const messages = state.messages.map((m) => ({ ...m, label: makeLabel(m.label.level, m.label.compartments) }) as LabelledMessage);
    const next = await this.callTool(message, salt, state.subtaskId, messages, state.call, state.remaining, directive, state.argsSalt);
    const outcome = next ?? (await this.work(message, salt, state.subtaskId, messages, state.remaining));
    await this.report(message, state.subtaskId, outcome);
  }

  /** The work this agent suspended under `requestId` for the message's command, if there is any. */
  private async continuation(message: AgentMessage, requestId: string): Promise<Continuation | undefined> {
    const stored = await this.continuations.suspended(requestId, message.commandId);
    if (!stored) return undefined;
    const { value } = await openOwnState(this.ctx, message.commandId, stored);
    const state = value as Continuation;
    // Sealed state binds agent, label and command; the request id inside binds it to this one suspended call.
    if (state.requestId !== requestId) throw new SecurityError('CONTEXT_MISMATCH', `suspended work ${state.requestId} stored as ${requestId}`);
    return state;
  }

  private async report(message: AgentMessage, subtaskId: string, outcome: Outcome): Promise<void> {
    const body: ResultBody =
      outcome.kind === 'done'
        ? { subtaskId, status: 'completed', content: outcome.content }
        : { subtaskId, status: 'awaiting_approval', requestId: outcome.requestId };
    await sendToAgent(this.ctx, {
      to: 'core',
      kind: 'result',
      // No write down: an effector answers at least at its own clearance, whatever it read (DESIGN §2).
      label: join(outcome.label, message.label, this.ctx.self.clearance),
      commandId: message.commandId,
      principal: message.principal,
      body,
    });
  }
}

/**
 * The salt of a call's argument digest (DESIGN §6), derived from the salt sealed in the message being processed: the
 * same call made again after a crash binds the same digest, and only the message's sender and addressee (cleared for
 * what it led to) can compute it.
 */
function callSalt(messageSalt: string, call: ProposedToolCall): string {
  let args = '';
  try {
    args = canonicalJson(call.args ?? null);
  } catch {
    // Arguments that are not JSON are refused by the tool runtime; their salt only has to exist.
  }
  return deriveSalt(messageSalt, `tool-args\n${String(call.name)}\n${args}`);
}
