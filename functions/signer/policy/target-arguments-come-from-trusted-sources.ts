import { Capability, namesValue } from '../../kernel/directives/capabilities';
import { integrityOf } from '../../kernel/flow/integrity';
import { ToolConfig } from '../../kernel/topology/topology';

/**
 * A value that came from untrusted content never chooses a high-priority action's target (DESIGN §5). Each argument
 * the topology marks `target` must be trusted: named by the capability (an exact value or a list), one of the
 * topology's `knownValues` for it, or, when its policy says `fromUserText`, in the user's own command text. Returns
 * the first target argument whose value is untrusted, or undefined when every one is trusted.
 */
export function untrustedTargetOf(tool: ToolConfig, capability: Capability, args: unknown, userText: string): string | undefined {
  const given = (typeof args === 'object' && args !== null ? args : {}) as Record<string, unknown>;
  for (const [name, policy] of Object.entries(tool.arguments)) {
    if (!policy.target || !Object.hasOwn(given, name)) continue;
    const value = given[name];
    const integrity = integrityOf(value, {
      namedByCapability: namesValue(capability, name, value),
      knownValues: policy.knownValues,
      ...(policy.fromUserText ? { userText } : {}),
    });
    if (integrity === 'untrusted') return name;
  }
  return undefined;
}
