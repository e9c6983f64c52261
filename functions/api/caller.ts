import { isSecurityError } from '../kernel/errors';
import { Label, dominates, parseLabel } from '../kernel/labels';
import { principalSchema } from '../kernel/schemas';
import { Topology } from '../kernel/topology/topology';
import { ApiError } from './errors';
import { ApiEvent } from './http';

/** The authenticated user behind a request, as the JWT authorizer vouched for them. */
export interface Caller {
  readonly username: string;
  /** From the token's `custom:clearance` and `custom:compartments` claims (DESIGN §8). */
  readonly clearance: Label;
  /** Listed in `topology.approvers`: may see and decide pending approvals. */
  readonly isApprover: boolean;
}

type Claims = Record<string, string | number | boolean | string[] | undefined>;

/** `MEDICAL,FINANCE` (a Cognito custom attribute); absent or empty means no compartments, which only narrows access. */
function compartmentsOf(claim: Claims[string]): unknown[] {
  if (claim === undefined) return [];
  if (typeof claim !== 'string') return [claim];
  return claim
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
}

/**
 * Who is calling. The API sits behind a JWT authorizer, so claims are authentic; they are still parsed
 * fail-closed (DESIGN §2): no username is 401, and a missing or unknown clearance level or compartment is
 * 403 — never a default clearance. A user the topology lists may not claim more than it grants them, so a
 * user who rewrote their own pool attributes (the emulator does not stop it) gains nothing.
 */
export function callerOf(event: ApiEvent, topology: Topology): Caller {
  const claims = (event.requestContext?.authorizer?.jwt?.claims ?? {}) as Claims;
  const username = principalSchema.safeParse(claims['cognito:username']);
  if (!username.success) throw ApiError.unauthenticated('the token names no user');
  let clearance: Label;
  try {
    clearance = parseLabel(
      { level: claims['custom:clearance'], compartments: compartmentsOf(claims['custom:compartments']) },
      topology.compartments,
    );
  } catch (err) {
    if (!isSecurityError(err, 'SCHEMA')) throw err;
    throw ApiError.forbidden('the token carries no valid clearance');
  }
  const listed = topology.users.find((u) => u.username === username.data);
  if (listed && !dominates(listed.clearance, clearance)) {
    throw ApiError.forbidden(`the token claims more than ${username.data} is cleared for`);
  }
  return Object.freeze({ username: username.data, clearance, isApprover: topology.approvers.has(username.data) });
}
