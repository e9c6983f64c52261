import { BoundRequest } from '../../kernel/directives/request';
import { Label, dominates, formatLabel } from '../../kernel/labels';
import { Denial } from './types';
import { deny } from './verdicts';

/**
 * An approver may approve only what they may read (DESIGN §5): their clearance at voting time, from the token the API
 * verified, dominates the label of what the request is about (for a declassification, the content before it is
 * lowered). Approving a TOP_SECRET release with a SECRET clearance is approving blind.
 */
export function approverClearedForWhatTheyApprove(approver: string, clearance: Label, req: BoundRequest): Denial | undefined {
  return dominates(clearance, req.label)
    ? undefined
    : deny('READ_UP', `${approver} (${formatLabel(clearance)}) is not cleared for ${formatLabel(req.label)}, what request ${req.requestId} is about`);
}
