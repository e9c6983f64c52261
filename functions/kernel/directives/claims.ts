import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { keyedDigestOf } from '../keyed-digest';
import { dominates, sameLabel } from '../labels';
import { agentNameSchema, labelSchema, principalSchema, sha256HexSchema, uuidSchema } from '../schemas';
import { topologySchema } from '../topology/topology';

/**
 * Directives (DESIGN §5): the only way a high-priority action or a declassification runs. The signer signs
 * canonical claims with the authority key through KMS; everyone else verifies locally with its public key.
 */

/** Clock skew tolerated on `issuedAt` (a directive "from the future" is refused beyond this). */
export const CLOCK_SKEW_MS = 30_000;

/** The longest lifetime a directive may claim: the topology's maximum `directiveTtlSeconds`. */
export const MAX_DIRECTIVE_LIFETIME_MS = 3600_000;

const nonceSchema = z.string().regex(/^[A-Za-z0-9_-]{22,86}$/, 'must be at least 128 bits of base64url');

export const directiveClaimsSchema = z
  .object({
    v: z.literal(1),
    id: uuidSchema,
    nonce: nonceSchema,
    kind: z.enum(['tool', 'declassify']),
    issuedAt: z.number().int().nonnegative(),
    expiresAt: z.number().int().positive(),
    principal: principalSchema,
    commandId: uuidSchema,
    target: agentNameSchema,
    tool: topologySchema.shape.tools.keyType.optional(),
    argsDigest: sha256HexSchema.optional(),
    contentDigest: sha256HexSchema.optional(),
    declassifyTo: labelSchema.optional(),
    label: labelSchema,
  })
  .strict()
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (c.expiresAt <= c.issuedAt) issue('expiresAt', 'must be after issuedAt');
    if (c.expiresAt - c.issuedAt > MAX_DIRECTIVE_LIFETIME_MS) issue('expiresAt', 'lifetime exceeds one hour');
    if (c.kind === 'tool') {
      if (c.tool === undefined) issue('tool', 'a tool directive names its tool');
      if (c.argsDigest === undefined) issue('argsDigest', 'a tool directive binds its arguments');
      if (c.contentDigest !== undefined || c.declassifyTo !== undefined) issue('kind', 'a tool directive does not declassify');
    } else {
      if (c.contentDigest === undefined) issue('contentDigest', 'a declassification binds the content');
      if (c.declassifyTo === undefined) issue('declassifyTo', 'a declassification names the lowered label');
      else if (!dominates(c.label, c.declassifyTo) || sameLabel(c.label, c.declassifyTo)) {
        issue('declassifyTo', 'must be strictly below label');
      }
      if (c.tool !== undefined || c.argsDigest !== undefined) issue('kind', 'a declassification runs no tool');
    }
  });

export type DirectiveClaims = z.output<typeof directiveClaimsSchema>;

export const signedDirectiveSchema = z
  .object({
    claims: directiveClaimsSchema,
    /** DER-encoded ECDSA P-256 signature over the canonical JSON of `claims`, base64. */
    signature: z.base64().min(8).max(200),
    keyId: z.string().min(1).max(2048),
  })
  .strict();

export type SignedDirective = z.output<typeof signedDirectiveSchema>;

/**
 * HMAC-SHA256 of the canonical JSON of a tool's arguments under the call's salt: what a tool directive binds. The
 * salt stays with parties cleared for the arguments (the calling agent's sealed state, its sealed request to the
 * signer, the outbox), so the digest in the ledger or the approvals table reveals no guessable argument (DESIGN §6).
 */
export function argsDigest(args: unknown, salt: string): string {
  return keyedDigestOf(salt, args);
}

/** A fresh single-use nonce (128 bits). */
export function newDirectiveNonce(): string {
  return randomBytes(16).toString('base64url');
}
