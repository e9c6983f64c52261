import { CommandAuthority } from '../../stores/commands';
import { BoundRequest } from '../../kernel/directives/request';
import { Denial } from './types';
import { deny } from './verdicts';

/**
 * An approval is a second person's (DESIGN §1, threat 6; §5): the approver is never the owner of the command the
 * request serves, nor its requester. An owner who is also an approver cannot approve their own command's requests.
 */
export function approverIsNeitherOwnerNorRequester(approver: string, command: CommandAuthority | undefined, req: BoundRequest): Denial | undefined {
  if (!command) return deny('NOT_AUTHORIZED', `request ${req.requestId} serves no command`);
  if (approver === command.owner) return deny('NOT_AUTHORIZED', `${approver} owns command ${command.commandId} and cannot approve its requests`);
  if (approver === req.requester) return deny('NOT_AUTHORIZED', `${approver} asked for request ${req.requestId} and cannot approve it`);
  return undefined;
}
