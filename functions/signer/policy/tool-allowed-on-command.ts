import { CommandAuthority } from '../../stores/commands';
import { ToolConfig } from '../../kernel/topology/topology';
import { Denial } from './types';
import { deny } from './verdicts';

/** High and critical tools: the user allowed the tool when issuing the command (DESIGN §5). */
export function toolAllowedOnCommand(command: CommandAuthority, tool: ToolConfig): Denial | undefined {
  return command.allow.includes(tool.name)
    ? undefined
    : deny('NOT_AUTHORIZED', `tool ${tool.name} was not allowed on command ${command.commandId}`);
}
