import { TopologyInvariant, violation } from './invariant';

/** Only a critical tool has `approvals`: on any other it would be a promise the signer does not keep. */
export const onlyCriticalToolsTakeApprovals: TopologyInvariant = (t, ctx) => {
  for (const [n, tool] of Object.entries(t.tools)) {
    if (tool.priority !== 'critical' && tool.approvals !== undefined) {
      violation(ctx, ['tools', n, 'approvals'], 'only critical tools take approvals');
    }
  }
};
