import { dominates, label as makeLabel } from '../../labels';
import { TopologyInvariant, violation } from './invariant';

/**
 * An agent owns a tool that sends data out (a sink) only when the sink's trust dominates the agent's clearance
 * (DESIGN §6): everything the agent can read may then go there, and nothing it could read may leak through it
 * without first being declassified to it. A SECRET agent owning an UNCLASSIFIED mail tool is refused.
 */
export const sinkOwnersCannotLeak: TopologyInvariant = (t, ctx) => {
  for (const [n, tool] of Object.entries(t.tools)) {
    if (!tool.sink) continue;
    const sink = makeLabel(tool.sink.level, tool.sink.compartments);
    tool.owners.forEach((o, i) => {
      const owner = t.agents[o];
      if (!owner) return;
      if (!dominates(sink, makeLabel(owner.clearance.level, owner.clearance.compartments))) {
        violation(ctx, ['tools', n, 'owners', i], `agent "${o}" is cleared above this tool's sink: what it reads could leak through it`);
      }
    });
  }
};
