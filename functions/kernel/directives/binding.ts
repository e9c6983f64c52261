import { SecurityError } from '../errors';
import { DirectiveClaims, argsDigest } from './claims';

/** What the verifier requires a directive to be bound to. */
export type DirectiveExpectation = {
  readonly target: string;
  readonly commandId: string;
  /** When given, the principal the directive must serve. */
  readonly principal?: string;
} & (
  | {
      readonly kind: 'tool';
      /** When given, the tool the directive must name. */
      readonly tool?: string;
      /** When given, the arguments whose digest the directive must bind. */
      readonly args?: unknown;
      /** The salt of that digest, required with `args` (see `argsDigest`). */
      readonly argsSalt?: string;
    }
  | { readonly kind: 'declassify'; readonly contentDigest: string }
);

/**
 * Refuses with BINDING_MISMATCH unless the directive is for exactly this target, command, tool, arguments
 * and content (DESIGN §5). The tool runtime calls it again with the tool and arguments it is about to run.
 */
export function assertDirectiveBinding(claims: DirectiveClaims, expected: DirectiveExpectation): void {
  const mismatch = (field: string) => {
    throw new SecurityError('BINDING_MISMATCH', `directive ${claims.id} is not bound to this ${field}`);
  };
  if (claims.kind !== expected.kind) mismatch('kind of action');
  if (claims.target !== expected.target) mismatch('target');
  if (claims.commandId !== expected.commandId) mismatch('command');
  if (expected.principal !== undefined && claims.principal !== expected.principal) mismatch('principal');
  if (expected.kind === 'tool') {
    if (expected.tool !== undefined && claims.tool !== expected.tool) mismatch('tool');
    if (expected.args !== undefined) {
      // Fail closed: arguments without their salt bind nothing.
      if (expected.argsSalt === undefined || claims.argsDigest !== argsDigest(expected.args, expected.argsSalt)) mismatch('arguments');
    }
  } else if (claims.contentDigest !== expected.contentDigest) {
    mismatch('content');
  }
}
