import { BoundRequest } from '../../kernel/directives/request';
import { levelRank } from '../../kernel/labels';

/**
 * A declassification a pre-authorization may cover (DESIGN §6): it lowers the level by at most one and keeps every
 * compartment. Dropping a compartment (MEDICAL) or more than one level needs a human, whatever the command says.
 */
export function declassificationIsNarrow(req: BoundRequest): boolean {
  const to = req.declassifyTo;
  if (!to) return false;
  const keepsCompartments = req.label.compartments.every((c) => to.compartments.includes(c));
  return keepsCompartments && levelRank(req.label.level) - levelRank(to.level) <= 1;
}
