import { CommandAuthority } from '../../stores/commands';
import { BoundRequest } from '../../kernel/directives/request';
import { dominates, formatLabel } from '../../kernel/labels';
import { Topology } from '../../kernel/topology/topology';
import { Denial } from './types';
import { deny } from './verdicts';

/**
 * The owner's clearance now, not only when they submitted (DESIGN §1, threat 6): the owner is a user the topology
 * lists (the exact name, case included) and the clearance it gives them today dominates the label. A user whose
 * clearance was lowered, or who was removed, stops getting directives signed for commands already running.
 */
export function ownerClearedNow(topology: Topology, command: CommandAuthority, req: BoundRequest): Denial | undefined {
  const user = topology.users.find((u) => u.username === command.owner);
  if (!user) return deny('NOT_AUTHORIZED', `${command.owner} is not a user of the topology`);
  return dominates(user.clearance, req.label)
    ? undefined
    : deny('READ_UP', `${formatLabel(req.label)} is above the clearance ${command.owner} has now (${formatLabel(user.clearance)})`);
}
