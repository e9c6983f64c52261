import { isDeepStrictEqual } from 'node:util';
import type { DirectiveVerifier } from '../kernel/directives/verify';
import { SecurityError, isSecurityError } from '../kernel/errors';
import type { EnvelopeCipher } from '../kernel/messages/envelope-cipher';
import { openRequest } from '../kernel/messages/sealed-request';
import type { LedgerAppender } from '../kernel/ledger/pending';
import type { OutboxRecord, SideEffect } from '../kernel/tools/effects';
import type { Topology } from '../kernel/topology/topology';
import { describeIssues } from '../kernel/schemas';
import type { Outbox } from '../stores/outbox';
import { EFFECT_GATEWAY, EffectAnswer, EffectRequest, effectRequestSchema } from './protocol';
import type { EffectSender } from './senders';

export interface EffectGatewayProps {
  readonly topology: Topology;
  /** Opens requests sealed for the gateway: KMS authenticates the agent that asks. */
  readonly cipher: EnvelopeCipher;
  /** Verifies directives with the authority's public key. */
  readonly verifier: DirectiveVerifier;
  /** The outbox: only the gateway's role may write it (DESIGN §3, §5). */
  readonly outbox: Outbox;
  readonly ledger: LedgerAppender;
  /** Dispatches a recorded effect to the world. */
  readonly sender: EffectSender;
}

/**
 * The effect gateway (DESIGN §5): the only writer of the outbox. An agent's runtime asks it to record the effect of a
 * tool call, sealed `from` itself; the gateway records it only when the agent owns the tool, and a high or critical
 * tool's directive verifies here (signature, expiry, bound to this agent, command, tool and arguments), the payload
 * agrees with those arguments, and the directive's id (the effect id) was never recorded for another call. Then it
 * dispatches the effect. A compromised effector, which runs the tool runtime's checks or skips them as it likes, can
 * therefore record nothing a directive does not cover.
 *
 * @example
 * const gateway = new EffectGateway({ topology, cipher, verifier, outbox, ledger, sender });
 * const answer = await gateway.receive(await sealRequest(cipher, { from: 'edge', to: 'effects', label, requestId, commandId, body }));
 */
export class EffectGateway {
  constructor(private readonly props: EffectGatewayProps) {}

  async receive(event: unknown): Promise<EffectAnswer> {
    let caller: string;
    let request: EffectRequest;
    try {
      const opened = await openRequest(this.props.cipher, event, EFFECT_GATEWAY);
      caller = opened.from;
      if (!this.props.topology.agents.has(caller)) throw new SecurityError('UNKNOWN_SENDER', `${caller} is not an agent`);
      const parsed = effectRequestSchema.safeParse(opened.body);
      if (!parsed.success) throw new SecurityError('SCHEMA', describeIssues(parsed.error));
      request = parsed.data;
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      const reason = err.reason === 'SCHEMA' && !(typeof event === 'object' && event && 'sealed' in event) ? 'UNAUTHENTICATED' : err.reason;
      await this.ledgerRefusal(undefined, undefined, reason);
      return { status: 'refused', reason, message: err.message };
    }
    if (request.kind === 'lookup') {
      const record = await this.props.outbox.get(request.effectId);
      // An agent sees only what it recorded itself.
      return { status: 'found', ...(record && record.agent === caller ? { record } : {}) };
    }
    try {
      const recorded = await this.record(caller, request.effectId, request.effect, request.directive);
      return { status: 'recorded', recorded };
    } catch (err) {
      if (!isSecurityError(err)) throw err;
      await this.ledgerRefusal(caller, request.effect, err.reason);
      return { status: 'refused', reason: err.reason, message: err.message };
    }
  }

  private async record(caller: string, effectId: string, effect: SideEffect, directive: unknown): Promise<boolean> {
    const { topology } = this.props;
    if (effect.agent !== caller) throw new SecurityError('IMPERSONATION', `an effect of ${effect.agent} sealed by ${caller}`);
    const tool = topology.tools.get(effect.tool);
    if (!tool || !tool.owners.includes(caller)) throw new SecurityError('NOT_AUTHORIZED', `${caller} does not own ${JSON.stringify(effect.tool).slice(0, 80)}`);
    if (tool.priority !== 'low') {
      if (directive === undefined) throw new SecurityError('NOT_AUTHORIZED', `${tool.name} is ${tool.priority}-priority: its effect needs a directive`);
      const claims = await this.props.verifier.verify(directive, { kind: 'tool', target: caller, commandId: effect.commandId, tool: tool.name, args: effect.args, argsSalt: effect.argsSalt });
      // One effect per directive: its id names the effect.
      if (effectId !== claims.id || effect.directiveId !== claims.id) throw new SecurityError('BINDING_MISMATCH', `effect ${effectId} is not named by directive ${claims.id}`);
    } else if (directive !== undefined || effect.directiveId !== undefined) {
      throw new SecurityError('SCHEMA', `${tool.name} is low-priority and runs under no directive`);
    }
    assertPayloadAgrees(effect);
    if (await this.props.outbox.record(effectId, effect)) {
      await this.dispatch((await this.props.outbox.get(effectId))!);
      return true;
    }
    const existing = await this.props.outbox.get(effectId);
    if (!existing || existing.messageId !== effect.messageId || existing.agent !== caller) {
      throw new SecurityError('REPLAY', `effect ${effectId} was already recorded for another call`);
    }
    // A redelivery: finish a dispatch an earlier attempt did not.
    if (!existing.dispatchedAt) await this.dispatch(existing);
    return false;
  }

  /** At least once: sent, then marked; a crash in between sends again on the next delivery of the same call. */
  private async dispatch(record: OutboxRecord): Promise<void> {
    // A call that did nothing (a prescription for no patient) has nothing to send.
    if (record.payload !== null) await this.props.sender.send(record);
    await this.props.outbox.markDispatched(record.effectId);
  }

  private async ledgerRefusal(caller: string | undefined, effect: SideEffect | undefined, reason: SecurityError['reason']): Promise<void> {
    await this.props.ledger.append({
      type: 'tool.denied',
      actor: EFFECT_GATEWAY,
      ...(effect ? { commandId: effect.commandId, messageId: effect.messageId } : {}),
      ...(effect?.directiveId ? { directiveId: effect.directiveId } : {}),
      reason,
      detail: {
        effect: true,
        ...(caller ? { caller } : {}),
        ...(effect && this.props.topology.tools.has(effect.tool) ? { tool: effect.tool } : {}),
      },
    });
  }
}

/** What goes out is what the directive bound: every argument appears unchanged in the payload (DESIGN §5). */
function assertPayloadAgrees(effect: SideEffect): void {
  if (effect.payload === null) return;
  for (const [name, value] of Object.entries(effect.args)) {
    if (!isDeepStrictEqual(effect.payload[name], value)) {
      throw new SecurityError('BINDING_MISMATCH', `the effect's ${name} differs from the argument the directive binds`);
    }
  }
}
