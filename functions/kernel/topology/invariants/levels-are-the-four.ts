import { LEVELS } from '../../labels';
import { TopologyInvariant, violation } from './invariant';

/** The lattice is fixed (DESIGN §2): the file lists exactly the four levels, lowest first. */
export const levelsAreTheFour: TopologyInvariant = (t, ctx) => {
  if (JSON.stringify(t.levels) !== JSON.stringify(LEVELS)) {
    violation(ctx, ['levels'], `must be exactly ${LEVELS.join(', ')} (lowest first)`);
  }
};
