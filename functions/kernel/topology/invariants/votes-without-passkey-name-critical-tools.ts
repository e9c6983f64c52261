import { TopologyInvariant, violation } from './invariant';

/** `votesWithoutPasskey.tools` names critical tools: on any other tool there is no vote to relax, so the entry is a mistake. */
export const votesWithoutPasskeyNameCriticalTools: TopologyInvariant = (t, ctx) => {
  t.votesWithoutPasskey.tools.forEach((n, i) => {
    const tool = t.tools[n];
    if (!tool) violation(ctx, ['votesWithoutPasskey', 'tools', i], `unknown tool "${n}"`);
    else if (tool.priority !== 'critical') violation(ctx, ['votesWithoutPasskey', 'tools', i], `${n} is not critical: it takes no approvals`);
  });
};
