import { dominates, label } from '../../labels';
import { TopologyInvariant, violation } from './invariant';

/** Every release rule releases to declared agents, each cleared for the lowest label the rule releases at. */
export const releaseRulesReleaseToClearedAgents: TopologyInvariant = (t, ctx) => {
  for (const [n, r] of Object.entries(t.release)) {
    r.to.forEach((to, i) => {
      const agent = t.agents[to];
      if (!agent) violation(ctx, ['release', n, 'to', i], `unknown agent "${to}"`);
      else if (!dominates(label(agent.clearance.level, agent.clearance.compartments), label(r.label.level, r.label.compartments))) {
        violation(ctx, ['release', n, 'to', i], `${to} is not cleared for the rule's label`);
      }
    });
  }
};
