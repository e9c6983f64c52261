import { BoundRequest } from '../../kernel/directives/request';
import { Label, dominates, formatLabel } from '../../kernel/labels';
import { Topology } from '../../kernel/topology/topology';
import { Denial } from './types';
import { deny } from './verdicts';

/**
 * An approver may approve only what they may read (DESIGN §5): their clearance at voting time, from the token the API
 * verified, dominates the label of what the request is about (for a declassification, the content before it is
 * lowered). Approving a TOP_SECRET release with a SECRET clearance is approving blind. The topology's clearance for
 * the approver bounds the token's, so a forwarder that overstated it gains nothing.
 */
export function approverClearedForWhatTheyApprove(topology: Topology, approver: string, clearance: Label, req: BoundRequest): Denial | undefined {
  const listed = topology.users.find((u) => u.username === approver)?.clearance;
  for (const held of [clearance, listed]) {
    if (!held || !dominates(held, req.label)) {
      return deny('READ_UP', `${approver} (${held ? formatLabel(held) : 'not a listed user'}) is not cleared for ${formatLabel(req.label)}, what request ${req.requestId} is about`);
    }
  }
  return undefined;
}
