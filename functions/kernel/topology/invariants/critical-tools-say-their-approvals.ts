import { TopologyInvariant, violation } from './invariant';

/** A critical tool says how many distinct human approvals it needs. */
export const criticalToolsSayTheirApprovals: TopologyInvariant = (t, ctx) => {
  for (const [n, tool] of Object.entries(t.tools)) {
    if (tool.priority === 'critical' && tool.approvals === undefined) {
      violation(ctx, ['tools', n, 'approvals'], 'a critical tool must say how many approvals it needs');
    }
  }
};
