import { Capability, namesValue } from '../../kernel/directives/capabilities';
import { appearsInText, canonicalValue } from '../../kernel/flow/integrity';
import { ToolConfig } from '../../kernel/topology/topology';

/**
 * A value that came from untrusted content never chooses a high-priority action's target (DESIGN §5). Each argument
 * the topology marks `target` must be named by the capability (an exact value or a list), be one of the topology's
 * `knownValues` for it, or, when its policy says `fromUserText`, appear in the user's own command text. Returns the
 * first target argument no trusted source names, or undefined when every one is named.
 */
export function untrustedTargetOf(tool: ToolConfig, capability: Capability, args: unknown, userText: string): string | undefined {
  const given = (typeof args === 'object' && args !== null ? args : {}) as Record<string, unknown>;
  for (const [name, policy] of Object.entries(tool.arguments)) {
    if (!policy.target || !Object.hasOwn(given, name)) continue;
    const value = given[name];
    const trusted =
      namesValue(capability, name, value) ||
      (typeof value === 'string' && canonicalValue(value) !== undefined && policy.knownValues.some((v) => v.toLowerCase() === canonicalValue(value))) ||
      (policy.fromUserText && appearsInText(userText, value));
    if (!trusted) return name;
  }
  return undefined;
}
