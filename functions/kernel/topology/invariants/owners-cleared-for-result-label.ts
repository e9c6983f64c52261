import { dominates, label as makeLabel } from '../../labels';
import { TopologyInvariant, violation } from './invariant';

/** Every (known) owner of a tool is cleared for the tool's result label; unknown owners are toolOwnersAreAgents'. */
export const ownersClearedForResultLabel: TopologyInvariant = (t, ctx) => {
  for (const [n, tool] of Object.entries(t.tools)) {
    tool.owners.forEach((o, i) => {
      const owner = t.agents[o];
      if (!owner) return;
      // No read up (DESIGN §2): an agent may only run tools whose results it is cleared to read.
      if (!dominates(makeLabel(owner.clearance.level, owner.clearance.compartments), makeLabel(tool.resultLabel.level, tool.resultLabel.compartments))) {
        violation(ctx, ['tools', n, 'owners', i], `agent "${o}" is not cleared for this tool's result label`);
      }
    });
  }
};
