import { DirectiveExpectation } from '../directives/binding';
import { DirectiveClaims } from '../directives/claims';
import { SecurityError } from '../errors';
import { KERNEL_AGENT } from '../flow/edges';
import { Label, formatLabel, sameLabel } from '../labels';

/* A directive carried on a message: what it must be bound to, and the label it authorizes (DESIGN §4, §6). */

export interface DirectiveContext {
  readonly to: string;
  readonly commandId: string;
  readonly principal: string;
  readonly contentDigest: string;
}

/**
 * What a directive on a message must be bound to: this addressee, command, principal and, to declassify,
 * content. A delivered declassification is bound to its eventual receiver, and goes only to the kernel agent.
 */
export function expectationFor(claims: DirectiveClaims, m: DirectiveContext, delivery = false): DirectiveExpectation {
  if (delivery && claims.kind === 'declassify') {
    if (m.to !== KERNEL_AGENT) throw new SecurityError('BINDING_MISMATCH', `a declassification is delivered to ${KERNEL_AGENT} only`);
    return { kind: 'declassify', target: claims.target, commandId: m.commandId, principal: m.principal, contentDigest: claims.contentDigest ?? '' };
  }
  const common = { target: m.to, commandId: m.commandId, principal: m.principal };
  return claims.kind === 'declassify' ? { ...common, kind: 'declassify', contentDigest: m.contentDigest } : { ...common, kind: 'tool' };
}

/** BINDING_MISMATCH unless the directive authorizes exactly the label the message carries. */
export function assertAuthorizedLabel(claims: DirectiveClaims, messageLabel: Label, delivery = false): void {
  const authorized = !delivery && claims.kind === 'declassify' && claims.declassifyTo ? claims.declassifyTo : claims.label;
  if (!sameLabel(authorized, messageLabel)) {
    throw new SecurityError('BINDING_MISMATCH', `directive ${claims.id} is for ${formatLabel(authorized)}, not ${formatLabel(messageLabel)}`);
  }
}
