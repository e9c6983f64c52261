import { CommandAuthority } from '../../stores/commands';
import { BoundRequest } from '../../kernel/directives/request';
import { dominates, formatLabel } from '../../kernel/labels';
import { Denial } from './types';
import { deny } from './verdicts';

/** The user the command serves could read what the action is about (DESIGN §5: the user's clearance dominates the label). */
export function ownerClearanceDominatesLabel(command: CommandAuthority, req: BoundRequest): Denial | undefined {
  return dominates(command.ownerClearance, req.label)
    ? undefined
    : deny('READ_UP', `${formatLabel(req.label)} is above the clearance of ${command.owner}`);
}
