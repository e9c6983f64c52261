import { BoundRequest } from '../../kernel/directives/request';
import { Topology } from '../../kernel/topology/topology';
import { Denial } from './types';
import { deny } from './verdicts';

/** Declassified content goes to the receiver over an edge the topology allows, never to an arbitrary agent. */
export function declassifiedContentFollowsAnEdge(topology: Topology, req: BoundRequest): Denial | undefined {
  return topology.allowsEdge(req.requester, req.target)
    ? undefined
    : deny('NOT_AUTHORIZED', `${req.requester} does not send to ${req.target}`);
}
