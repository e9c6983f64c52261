import { Label, formatLabel, parseLabelText } from '../kernel/labels';
import type { StateRef } from '../stores/commands';
import type { AgentContext } from './context';

/**
 * The one way an agent keeps state at rest (core's plan and a redacted task awaiting approval, an effector's
 * suspended work): sealed by the kernel's cipher for the agent itself, at the label of what the state was made
 * from, bound to its command (DESIGN §3). Only the same agent reopens it, under the same label and command.
 *
 * @example
 * const ref = await sealOwnState(ctx, commandId, label('SECRET', ['MEDICAL']), { plan });
 * const { value } = await openOwnState(ctx, commandId, ref);
 */
export async function sealOwnState(ctx: AgentContext, commandId: string, l: Label, value: unknown): Promise<StateRef> {
  const ciphertext = await ctx.cipher.sealState({ owner: ctx.self.name, label: l, commandId, plaintext: JSON.stringify(value) });
  return { ciphertext, label: formatLabel(l) };
}

/** Opens what {@link sealOwnState} sealed for this agent and command; anything else is refused by the cipher. */
export async function openOwnState(ctx: AgentContext, commandId: string, ref: StateRef): Promise<{ value: unknown; label: Label }> {
  const l = parseLabelText(ref.label, ctx.topology.compartments);
  const plaintext = await ctx.cipher.openState({ owner: ctx.self.name, label: l, commandId, ciphertext: ref.ciphertext });
  return { value: JSON.parse(plaintext.toString('utf8')), label: l };
}
