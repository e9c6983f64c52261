import { BoundRequest } from '../../kernel/directives/request';
import { dominates, formatLabel } from '../../kernel/labels';
import { Topology } from '../../kernel/topology/topology';
import { Denial } from './types';
import { deny } from './verdicts';

/**
 * No read up for the acting agent (DESIGN §2): a tool runs only on content its agent may hold, and declassified
 * content is lowered to a label its receiver may read.
 */
export function targetClearanceDominatesLabel(topology: Topology, req: BoundRequest): Denial | undefined {
  const acting = req.kind === 'declassify' ? req.declassifyTo : req.label;
  const clearance = topology.agent(req.target).clearance;
  if (!acting || dominates(clearance, acting)) return undefined;
  return deny('READ_UP', `${req.target} (${formatLabel(clearance)}) cannot hold ${formatLabel(acting)}`);
}
