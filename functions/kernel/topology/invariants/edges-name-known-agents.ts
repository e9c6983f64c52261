import { TopologyInvariant, violation } from './invariant';

/** Every edge `sendsTo` leads to a declared agent (queue send rights follow these edges). */
export const edgesNameKnownAgents: TopologyInvariant = (t, ctx) => {
  for (const [n, a] of Object.entries(t.agents)) {
    a.sendsTo.forEach((to, i) => {
      if (!t.agents[to]) violation(ctx, ['agents', n, 'sendsTo', i], `unknown agent "${to}"`);
    });
  }
};
