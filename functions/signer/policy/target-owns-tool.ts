import { BoundRequest } from '../../kernel/directives/request';
import { Topology } from '../../kernel/topology/topology';
import { Denial } from './types';
import { deny } from './verdicts';

/** The tool is allowed to that agent (DESIGN §5): the topology lists the target among the tool's owners. */
export function targetOwnsTool(topology: Topology, req: BoundRequest): Denial | undefined {
  const tool = req.tool === undefined ? undefined : topology.tools.get(req.tool);
  if (!tool) return deny('NOT_AUTHORIZED', `unknown tool "${req.tool}"`);
  return tool.owners.includes(req.target) ? undefined : deny('NOT_AUTHORIZED', `${req.target} does not own tool ${tool.name}`);
}
