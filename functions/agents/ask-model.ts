import { ReasonCode, isSecurityError } from '../kernel/errors';
import type { LabelledMessage, ModelReply, ToolSpec } from '../platform/model-client';
import type { AgentContext } from './context';

/** A prompt the egress guard refused: nothing left the function (DESIGN §6). */
export interface EgressRefused {
  readonly refused: ReasonCode;
}

/**
 * Asks the agent's model. When the egress guard refuses the prompt (its label is above the endpoint's trust),
 * the refusal is ledgered as `egress.denied` and returned instead of thrown; the caller decides what the command
 * does next. Any other error is thrown.
 */
export async function askModel(ctx: AgentContext, commandId: string, prompt: readonly LabelledMessage[], tools: readonly ToolSpec[]): Promise<ModelReply | EgressRefused> {
  try {
    return await ctx.model.complete(prompt, tools);
  } catch (err) {
    if (!isSecurityError(err, 'EGRESS_ABOVE_TRUST')) throw err;
    await ctx.ledger.append({ type: 'egress.denied', actor: ctx.self.name, commandId, reason: err.reason, detail: { endpoint: ctx.self.model } });
    return { refused: err.reason };
  }
}

export function wasRefused(reply: ModelReply | EgressRefused): reply is EgressRefused {
  return 'refused' in reply;
}
