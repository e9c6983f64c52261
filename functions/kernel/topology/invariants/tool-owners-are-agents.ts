import { TopologyInvariant, violation } from './invariant';

/** Every owner of a tool is a declared agent. */
export const toolOwnersAreAgents: TopologyInvariant = (t, ctx) => {
  for (const [n, tool] of Object.entries(t.tools)) {
    tool.owners.forEach((o, i) => {
      if (!t.agents[o]) violation(ctx, ['tools', n, 'owners', i], `unknown agent "${o}"`);
    });
  }
};
