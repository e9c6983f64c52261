import { TopologyInvariant, violation } from './invariant';

/**
 * Argument policies are the signer's (DESIGN §5): they guard high and critical calls only, so a low tool that declares
 * a target-like argument is refused rather than given a protection that is never applied.
 */
export const argumentPoliciesGuardConsequentialTools: TopologyInvariant = (t, ctx) => {
  for (const [n, tool] of Object.entries(t.tools)) {
    if (tool.priority !== 'low') continue;
    for (const [arg, policy] of Object.entries(tool.arguments)) {
      if (policy.target) violation(ctx, ['tools', n, 'arguments', arg, 'target'], 'a low-priority tool runs without the signer: its arguments cannot be targets');
    }
  }
};
