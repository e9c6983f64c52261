import { CommandAuthority } from '../../stores/commands';
import { BoundRequest } from '../../kernel/directives/request';
import { levelRank } from '../../kernel/labels';

/** The user pre-authorized declassification down to this level (or a higher one) on the command (DESIGN §6). */
export function declassificationPreAuthorized(command: CommandAuthority, req: BoundRequest): boolean {
  return (
    command.declassifyTo !== undefined &&
    req.declassifyTo !== undefined &&
    levelRank(req.declassifyTo.level) >= levelRank(command.declassifyTo)
  );
}
