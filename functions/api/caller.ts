import { isSecurityError } from '../kernel/errors';
import { Label, parseLabel } from '../kernel/labels';
import { callerIsAListedUser } from './rules/callers-are-listed-users';
import { claimsWithinTopologyClearance } from './rules/claims-within-topology-clearance';
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

/** A caller the topology does not let in: 403, and the API ledgers the refusal with the name the token carried. */
export class CallerRefused extends ApiError {
  constructor(
    readonly username: string,
    message: string,
  ) {
    super(403, message, 'NOT_AUTHORIZED');
  }
}

/**
 * Who is calling. The API sits behind a JWT authorizer, so claims are authentic; they are still parsed
 * fail-closed (DESIGN §2): no username is 401, and a missing or unknown clearance level or compartment is
 * 403 — never a default clearance. Only users the topology lists get in, and none with more than it grants them
 * (./rules, one rule per file).
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
  const listed = callerIsAListedUser(topology, username.data);
  if ('refused' in listed) throw new CallerRefused(username.data, listed.refused);
  const above = claimsWithinTopologyClearance(listed.user, clearance);
  if (above) throw new CallerRefused(username.data, above);
  return Object.freeze({ username: username.data, clearance, isApprover: topology.approvers.has(username.data) });
}
