import { TopologyInvariant, violation } from './invariant';

/** The kernel agent "core" exists: it is the one agent the rest of the system addresses by name. */
export const coreIsPresent: TopologyInvariant = (t, ctx) => {
  if (!t.agents.core) violation(ctx, ['agents'], 'the kernel agent "core" is required');
};
