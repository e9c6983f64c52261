import { checkTopologyInvariants } from './invariants';
import { topologyShape } from './shape';

export type { TopologyInput, TopologyOutput } from './shape';

/** The whole file: shapes, then the invariant pack. */
export const topologySchema = topologyShape.superRefine(checkTopologyInvariants);
