import { digestOf } from '../canonical';
import { DirectiveClaims, SignedDirective, argsDigest as keyedArgsDigest } from '../directives/claims';
import { DirectiveVerifier } from '../directives/verify';
import { SecurityError, isSecurityError } from '../errors';
import { Label, dominates, formatLabel } from '../labels';
import { assertNoReadUp } from '../flow/no-read-up';
import type { LedgerAppender } from '../ledger/pending';
import type { EffectLog, SideEffect } from './effects';
import { SingleUseStore } from '../messages/single-use';
import type { Topology } from '../topology/topology';
import type { RegisteredTool, ToolRegistry } from './registry';
import { RecordAccess, recordReader } from './records';
import type { RecordReader } from './tool';

/** What the ledger names a proposed tool the topology does not know: the proposed name is model output. */
export const UNKNOWN_TOOL = 'unknown';

/** A tool call as a model proposed it: data, not yet trusted. */
export interface ToolCall {
  readonly tool: string;
  readonly args: unknown;
}

export interface RunToolInput {
  readonly topology: Topology;
  /** The agent running the call (the kernel knows it; the model does not choose it). */
  readonly agent: string;
  readonly call: ToolCall;
  /** The command the call serves, from the verified message. */
  readonly commandId: string;
  /** The verified message whose processing makes the call: a redelivery carries the same id. */
  readonly messageId: string;
  /** The user the command belongs to; a directive must serve this user. */
  readonly principal: string;
  /**
   * The label of what the call was derived from (the agent's prompt when its model proposed it): a tool that sends data
   * out of the system (a sink) runs only when its trust dominates it (DESIGN §6). @default the agent's clearance
   */
  readonly label?: Label;
  /** The directive the signer issued for this call; verified here, never taken on trust. */
  readonly directive?: SignedDirective;
  /**
   * The salt of the arguments' digest: the one the directive was asked under, kept by the agent with the call
   * (DESIGN §6). The same call made again after a crash must be given the same salt.
   */
  readonly argsSalt: string;
  readonly verifier: DirectiveVerifier;
  readonly singleUse: SingleUseStore;
  readonly outbox: EffectLog;
  readonly ledger: LedgerAppender;
  /** The tools, checked against the topology at start-up; the kernel imports none of them. */
  readonly registry: ToolRegistry;
  /** Classified records, for the tools the topology says read them (DESIGN §3). @default none: such a tool fails */
  readonly records?: RecordAccess;
}

export interface ToolRunResult {
  readonly content: string;
  /** The label the topology gives the tool's result (DESIGN §6). */
  readonly label: Label;
  readonly effectId: string;
  readonly directiveId?: string;
  /** True when this exact call had already run (a redelivered message): nothing was done a second time. */
  readonly duplicate: boolean;
}

/**
 * Runs a model-proposed tool call if, and only if, the kernel allows it (DESIGN §5): the agent owns the tool
 * and may read its result, the arguments fit the schema, and a high or critical tool carries a directive
 * signed by the authority, current, bound to this agent, command, user, tool and arguments, and unused.
 * Every decision is a ledger entry: `tool.executed` or `tool.denied` with its reason; a refusal throws
 * SecurityError after it is recorded.
 *
 * Duplicate delivery versus replay. A directive is spent twice over: its nonce in the single-use store, and
 * its id as the outbox effect id (conditional put). When the nonce is already spent, the outbox record says
 * by which message: the same message id means this is a redelivery of a call that already ran, so it is
 * reported as done (`duplicate`, ledgered as executed) and nothing runs again; any other message reusing the
 * directive is a REPLAY. If the nonce record is ever missing, the conditional put alone still lets the side
 * effect happen once per directive. The nonce is spent by the message: a crash between spending it and
 * recording the effect leaves it spent by that message, so the redelivery of the same message runs the call
 * and records the effect once; any other message is still refused REPLAY.
 *
 * @example
 * const { content, label } = await runTool({ topology, agent: 'scheduler', call, commandId, messageId,
 *   principal, directive, verifier, singleUse, outbox, ledger });
 */
export async function runTool(input: RunToolInput): Promise<ToolRunResult> {
  const { topology, agent, call, commandId, messageId, ledger } = input;
  const registry = input.registry;
  let tool: RegisteredTool | undefined;
  let argsDigest: string | undefined;
  let directiveId: string | undefined;
  try {
    tool = ownedTool(topology, registry, agent, call.tool);
    assertResultReadable(topology, agent, tool);
    assertSinkTrusted(tool, input.label ?? topology.agent(agent).clearance);
    const args = conformingArguments(tool, call.args);
    argsDigest = keyedArgsDigest(args, input.argsSalt);
    const claims = await verifiedDirective(input, tool, args);
    directiveId = claims?.id;
    // The directive's id names its one side effect; a low tool's call is named by where it was made.
    const effectId = claims ? claims.id : `${commandId}:${messageId}:${tool.config.name}:${argsDigest}`;
    let duplicate = claims ? await spendDirective(input, claims) : false;
    const records = recordsFor(input, tool);
    const outcome = await tool.definition.execute(args, { agent, commandId, principal: input.principal, effectId, ...(records && { records }) });
    if (!duplicate && (claims || outcome.effect)) {
      const effect: SideEffect = {
        tool: tool.config.name,
        agent,
        commandId,
        messageId,
        directiveId,
        args: args as Record<string, unknown>,
        argsSalt: input.argsSalt,
        payload: outcome.effect ?? null,
      };
      duplicate = !(await recordEffectOnce(input.outbox, effectId, effect, input.directive));
    }
    await ledger.append({
      type: 'tool.executed',
      actor: agent,
      commandId,
      messageId,
      directiveId,
      digests: { args: argsDigest },
      detail: { tool: tool.config.name, priority: tool.config.priority, label: formatLabel(tool.config.resultLabel), effectId, duplicate },
    });
    return { content: outcome.content, label: tool.config.resultLabel, effectId, directiveId, duplicate };
  } catch (err) {
    if (isSecurityError(err)) {
      await ledger.append({
        type: 'tool.denied',
        actor: agent,
        commandId,
        messageId,
        reason: err.reason,
        directiveId,
        ...(argsDigest ? { digests: { args: argsDigest } } : {}),
        // The proposed name is model output: only a name the topology knows reaches the ledger (DESIGN §6).
        detail: { tool: tool?.config.name ?? (typeof call.tool === 'string' && topology.tools.has(call.tool) ? call.tool : UNKNOWN_TOOL) },
      });
    }
    throw err;
  }
}

/** An agent runs only the tools the topology gives it (DESIGN §5); unknown tools are refused, not guessed. */
function ownedTool(topology: Topology, registry: ToolRegistry, agent: string, name: string): RegisteredTool {
  const tool = typeof name === 'string' ? registry.get(name) : undefined;
  const owner = topology.agents.get(agent);
  if (!tool || !owner || !tool.config.owners.includes(agent)) {
    throw new SecurityError('NOT_AUTHORIZED', `agent ${agent} may not run tool ${JSON.stringify(String(name)).slice(0, 80)}`);
  }
  return tool;
}

/**
 * The egress rule on tool arguments (DESIGN §6): a tool that sends data out runs only when the trust of where it sends
 * dominates the label of what its arguments were derived from, as a prompt goes only to an endpoint trusted with it.
 */
function assertSinkTrusted(tool: RegisteredTool, derivedFrom: Label): void {
  const sink = tool.config.sink;
  if (sink && !dominates(sink, derivedFrom)) {
    throw new SecurityError(
      'EGRESS_ABOVE_TRUST',
      `${tool.config.name} sends out to a sink trusted with ${formatLabel(sink)}; its arguments derive from ${formatLabel(derivedFrom)}`,
    );
  }
}

/** No read up (DESIGN §2): an agent never receives a tool result its clearance does not dominate. */
function assertResultReadable(topology: Topology, agent: string, tool: RegisteredTool): void {
  assertNoReadUp(agent, topology.agent(agent).clearance, tool.config.resultLabel, `${tool.config.name} results`);
}

/**
 * The records reader of a tool the topology says reads records, bound to the running agent's clearance and the tool's
 * result label (DESIGN §2, §3); no reader for any other tool.
 */
function recordsFor(input: RunToolInput, tool: RegisteredTool): RecordReader | undefined {
  if (!tool.config.reads.includes('records')) return undefined;
  if (!input.records) throw new Error(`tool ${tool.config.name} reads records, but the tool runtime was given no record store`);
  const { clearance } = input.topology.agent(input.agent);
  return recordReader({ access: input.records, agent: input.agent, clearance, ceiling: tool.config.resultLabel, tool: tool.config.name });
}

/** Arguments that fit the tool's schema exactly: what the directive binds is what runs (DESIGN §5). */
function conformingArguments(tool: RegisteredTool, args: unknown): unknown {
  const parsed = tool.definition.args.safeParse(args);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '$'}: ${i.message}`);
    throw new SecurityError('SCHEMA', `arguments of ${tool.config.name}: ${issues.join('; ')}`);
  }
  if (digestOf(parsed.data) !== digestOf(args)) {
    throw new SecurityError('SCHEMA', `the ${tool.config.name} schema rewrote its arguments; a tool must run what was approved`);
  }
  return parsed.data;
}

/**
 * High and critical tools run only under a directive from the authority that is current and bound to this
 * agent, command, user, tool and arguments (DESIGN §5); low tools need none. Returns the verified claims.
 */
async function verifiedDirective(input: RunToolInput, tool: RegisteredTool, args: unknown): Promise<DirectiveClaims | undefined> {
  if (tool.config.priority === 'low') return undefined;
  if (input.directive === undefined) {
    throw new SecurityError('NOT_AUTHORIZED', `${tool.config.name} is ${tool.config.priority}-priority and runs only under a signed directive`);
  }
  return input.verifier.verify(input.directive, {
    kind: 'tool',
    target: input.agent,
    commandId: input.commandId,
    principal: input.principal,
    tool: tool.config.name,
    args,
    argsSalt: input.argsSalt,
  });
}

/**
 * Spends the directive's nonce (DESIGN §5: single use). False when it was fresh or spent by this same message
 * (a redelivery: the outbox then tells whether the call already ran); true when a nonce recorded without its
 * consumer was spent by a call of this message the outbox shows; REPLAY when anything else spent it.
 */
async function spendDirective(input: RunToolInput, claims: DirectiveClaims): Promise<boolean> {
  try {
    // Spent by this message: its redelivery after a crash may finish the call (the outbox keeps it to one effect).
    await input.singleUse.consume(`directive#${claims.nonce}`, claims.expiresAt, input.messageId);
    return false;
  } catch (err) {
    if (!isSecurityError(err, 'REPLAY')) throw err;
    const spentBy = await input.outbox.get(claims.id);
    if (spentBy?.messageId === input.messageId && spentBy.directiveId === claims.id) return true;
    throw new SecurityError('REPLAY', `directive ${claims.id} was already used by another call`);
  }
}

/**
 * Writes the side effect once per effect id. True when written now; false when this same message wrote it
 * before (a duplicate delivery: nothing happens twice); REPLAY when another message did.
 */
async function recordEffectOnce(outbox: EffectLog, effectId: string, effect: SideEffect, directive?: SignedDirective): Promise<boolean> {
  if (await outbox.record(effectId, effect, directive)) return true;
  const existing = await outbox.get(effectId);
  if (existing?.messageId === effect.messageId) return false;
  throw new SecurityError('REPLAY', `effect ${effectId} was already recorded for another call`);
}
