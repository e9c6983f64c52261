import { ToolConfig } from '../../kernel/topology/topology';
import { Denial } from './types';
import { deny } from './verdicts';

/** Low-priority tools run without a directive, so the authority key never signs one. */
export function lowToolsNeedNoDirective(tool: ToolConfig): Denial | undefined {
  return tool.priority === 'low' ? deny('NOT_AUTHORIZED', 'low-priority tools need no directive') : undefined;
}
