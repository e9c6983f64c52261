import { SecurityError } from '../errors';
import { Label, dominates, formatLabel } from '../labels';
import type { Topology } from '../topology/topology';
import { KERNEL_AGENT } from './edges';

/**
 * WRITE_DOWN when an agent writes below its own clearance's level (no write down, DESIGN §2; IAM lets it
 * create data keys only at or above its level, DESIGN §3) — unless it is the kernel agent carrying a
 * declassification directive, whose signature and binding the receiver verifies.
 */
export function assertNoWriteDown(topology: Topology, from: string, messageLabel: Label): void {
  const sender = topology.agents.get(from);
  // An effector writes at least at its whole clearance, compartments included: keys are per level, so only this
  // check stops a compromised agent from dropping a compartment (MEDICAL) from what it read (DESIGN §2).
  if (!sender || dominates(messageLabel, sender.clearance)) return;
  // The kernel agent labels what it writes with the join of what it read (DESIGN §6); below that it writes
  // only with a declassification directive, which its own kernel obtains before sending.
  if (from === KERNEL_AGENT) return;
  throw new SecurityError(
    'WRITE_DOWN',
    `${from} (${formatLabel(sender.clearance)}) may not write at ${formatLabel(messageLabel)} without a declassification`,
  );
}

/**
 * WRITE_DOWN unless the addressee is cleared for the message: content below the sender's level was declassified
 * first, so the label it carries is already the lowered one (DESIGN §6).
 */
export function assertAddresseeCleared(topology: Topology, to: string, messageLabel: Label): void {
  const receiver = topology.agent(to);
  if (!dominates(receiver.clearance, messageLabel)) {
    throw new SecurityError('WRITE_DOWN', `${to} (${formatLabel(receiver.clearance)}) is not cleared for ${formatLabel(messageLabel)}`);
  }
}
