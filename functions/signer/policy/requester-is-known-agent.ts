import { BoundRequest } from '../../kernel/directives/request';
import { Topology } from '../../kernel/topology/topology';
import { Denial } from './types';
import { deny } from './verdicts';

/** Fail closed: only an agent of the topology may ask for anything. */
export function requesterIsKnownAgent(topology: Topology, req: BoundRequest): Denial | undefined {
  return topology.agents.has(req.requester) ? undefined : deny('UNKNOWN_SENDER', `unknown requester "${req.requester}"`);
}
