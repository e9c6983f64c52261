import { SecurityError } from '../errors';
import { Label, dominates, formatLabel } from '../labels';
import type { ModelEndpointConfig } from '../topology/topology';

/**
 * The egress guard (DESIGN §6): a prompt goes to a model endpoint only when the endpoint's trust label
 * dominates the prompt's label. This is how an external provider sees only digested low-clearance work,
 * whatever the model before it asked for.
 */
export function guardEgress(endpoint: ModelEndpointConfig, promptLabel: Label): void {
  if (!dominates(endpoint.trust, promptLabel)) {
    throw new SecurityError(
      'EGRESS_ABOVE_TRUST',
      `a ${formatLabel(promptLabel)} prompt cannot go to model endpoint "${endpoint.name}" trusted with ${formatLabel(endpoint.trust)}`,
    );
  }
}
