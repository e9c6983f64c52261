import { dominates, label, sameLabel } from '../../labels';
import { TopologyInvariant, violation } from './invariant';

/** A release rule writes down: the label it releases from is strictly above the one it releases at. */
export const releaseRulesLowerTheLabel: TopologyInvariant = (t, ctx) => {
  for (const [n, r] of Object.entries(t.release)) {
    const from = label(r.from.level, r.from.compartments);
    const to = label(r.label.level, r.label.compartments);
    if (!dominates(from, to) || sameLabel(from, to)) violation(ctx, ['release', n, 'label'], 'must be strictly below "from"');
  }
};
