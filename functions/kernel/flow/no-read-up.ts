import { SecurityError } from '../errors';
import { Label, dominates, formatLabel } from '../labels';

/**
 * No read up (DESIGN §2): READ_UP unless the reader's clearance dominates the label of what it would read — a
 * message addressed to it, or a tool's result. Every read path of the kernel goes through here.
 *
 * @example
 * assertNoReadUp('analyst', analyst.clearance, message.label);
 */
export function assertNoReadUp(reader: string, clearance: Label, what: Label, subject?: string): void {
  if (!dominates(clearance, what)) {
    throw new SecurityError('READ_UP', `${reader} (${formatLabel(clearance)}) cannot read ${subject ? `${subject} ` : ''}${formatLabel(what)}`);
  }
}
