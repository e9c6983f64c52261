import { CommandAuthority, isTerminal } from '../../stores/commands';
import { BoundRequest } from '../../kernel/directives/request';
import { Denial } from './types';
import { deny } from './verdicts';

/** The request traces to an authenticated user's command that is still live (DESIGN §5). */
export function requestTracesToLiveCommand(req: BoundRequest, command: CommandAuthority | undefined): Denial | undefined {
  if (!command || command.commandId !== req.commandId) return deny('NOT_AUTHORIZED', `no command ${req.commandId}`);
  return isTerminal(command.status) ? deny('NOT_AUTHORIZED', `command ${req.commandId} is ${command.status}`) : undefined;
}
