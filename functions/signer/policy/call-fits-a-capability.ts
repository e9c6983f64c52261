import { Capability, misfit, usesAllowed } from '../../kernel/directives/capabilities';
import type { Intent } from '../../kernel/directives/intent';
import { ToolConfig } from '../../kernel/topology/topology';
import { untrustedTargetOf } from './target-arguments-come-from-trusted-sources';
import { CapabilityVerdict, Denial } from './types';
import { deny } from './verdicts';

/**
 * High and critical tools (DESIGN §5): the call fits a capability the user granted on the command (its tool, and each
 * argument it constrains), and every target-like argument comes from a trusted source. The first capability that
 * holds on both counts is the one the directive spends a use of. The capabilities are read from the intent the API
 * sealed for the signer, never from a field an agent could write.
 */
export function callFitsACapability(tool: ToolConfig, args: unknown, intent: Pick<Intent, 'text' | 'allow'> | undefined): CapabilityVerdict {
  const capabilities = (intent?.allow ?? []).map((c, index) => ({ c, index })).filter(({ c }) => c.tool === tool.name);
  if (capabilities.length === 0) return deny('NOT_AUTHORIZED', `tool ${tool.name} was not allowed on the command`);
  let untrusted: Denial | undefined;
  let misfitReason: string | undefined;
  for (const { c, index } of capabilities) {
    const outside = misfit(c, tool.name, args);
    if (outside) {
      misfitReason ??= outside;
      continue;
    }
    const target = untrustedTargetOf(tool, c, args, intent?.text ?? '');
    if (target) {
      untrusted ??= deny(
        'UNTRUSTED_ARGUMENT',
        `argument ${target} of ${tool.name} is not named by a capability, the topology or the user's own text: a model chose it`,
      );
      continue;
    }
    return { verdict: 'fits', index, maxUses: usesAllowed(c as Capability, tool.priority) };
  }
  return untrusted ?? deny('NOT_AUTHORIZED', `no capability for ${tool.name} on the command fits this call: the capability ${misfitReason}`);
}
