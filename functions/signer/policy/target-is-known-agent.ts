import { BoundRequest } from '../../kernel/directives/request';
import { Topology } from '../../kernel/topology/topology';
import { Denial } from './types';
import { deny } from './verdicts';

export function targetIsKnownAgent(topology: Topology, req: BoundRequest): Denial | undefined {
  return topology.agents.has(req.target) ? undefined : deny('NOT_AUTHORIZED', `unknown target agent "${req.target}"`);
}
