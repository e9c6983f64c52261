import { TopologyInvariant, violation } from './invariant';

/** No edge is a loop: an agent never lists itself in `sendsTo`. */
export const noAgentSendsToItself: TopologyInvariant = (t, ctx) => {
  for (const [n, a] of Object.entries(t.agents)) {
    a.sendsTo.forEach((to, i) => {
      if (to === n) violation(ctx, ['agents', n, 'sendsTo', i], 'an agent cannot send to itself');
    });
  }
};
