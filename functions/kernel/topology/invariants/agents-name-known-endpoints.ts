import { TopologyInvariant, violation } from './invariant';

/** Every agent's model is a declared model endpoint. */
export const agentsNameKnownEndpoints: TopologyInvariant = (t, ctx) => {
  for (const [n, a] of Object.entries(t.agents)) {
    if (!t.modelEndpoints[a.model]) violation(ctx, ['agents', n, 'model'], `unknown model endpoint "${a.model}"`);
  }
};
