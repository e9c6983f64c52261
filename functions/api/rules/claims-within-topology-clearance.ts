import { Label, dominates, formatLabel } from '../../kernel/labels';
import { UserConfig } from '../../kernel/topology/topology';

/**
 * A token claims no more than the topology clears its user for (DESIGN §2): a user who rewrote their own pool
 * attributes (the emulator does not stop it) gains nothing. Returns why it is refused, or undefined.
 */
export function claimsWithinTopologyClearance(user: UserConfig, claimed: Label): string | undefined {
  return dominates(user.clearance, claimed)
    ? undefined
    : `the token claims ${formatLabel(claimed)}, more than ${user.username} is cleared for (${formatLabel(user.clearance)})`;
}
