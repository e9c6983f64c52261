import { CommandAuthority } from '../../stores/commands';
import { BoundRequest } from '../../kernel/directives/request';
import { dominates } from '../../kernel/labels';

/**
 * The user pre-authorized declassification down to this label or a higher one (DESIGN §6): the lowered label
 * dominates-or-equals the command's `declassifyTo`, compartments included, so authorizing SECRET/MEDICAL never
 * covers a release at SECRET.
 */
export function declassificationPreAuthorized(command: CommandAuthority, req: BoundRequest): boolean {
  return command.declassifyTo !== undefined && req.declassifyTo !== undefined && dominates(req.declassifyTo, command.declassifyTo);
}
