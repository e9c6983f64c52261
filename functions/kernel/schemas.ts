import * as z from 'zod';
import { Label, label as makeLabel, parseLabelText } from './labels';
import { labelObjectSchema } from './topology/label-schema';
import { topologySchema } from './topology/schema';

/**
 * Schemas of the values that cross a trust boundary (SQS bodies, directives). Untrusted input is parsed with
 * these and nothing else; every one fails closed (DESIGN §2, §4).
 */

/** An agent or service principal name, exactly as the topology spells agent names. */
export const agentNameSchema = topologySchema.shape.agents.keyType;

export const uuidSchema = z.uuid();

/** A lower-case hex SHA-256 digest. */
export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256 digest');

/** The authenticated user a command serves (Cognito username or subject). */
export const principalSchema = z.string().regex(/^[A-Za-z0-9._@+-]{1,128}$/, 'must be a user name');

/**
 * A label in canonical form only (compartments sorted and unique): parsing is then the identity, so a
 * signature over the canonical JSON of what was received is a signature over what the signer wrote.
 */
export const labelSchema: z.ZodType<Label> = labelObjectSchema
  .refine((l) => l.compartments.every((c, i) => i === 0 || l.compartments[i - 1] < c), {
    message: 'compartments must be sorted and unique',
    path: ['compartments'],
  })
  .transform((l) => makeLabel(l.level, l.compartments));

/** Dotted path of a schema issue, e.g. `label.level` or `directive.claims.nonce`; `$` for the root. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '$' : path.map(String).join('.');
}

/** The first issues of a failed parse, each with its path, for a SecurityError message. */
export function describeIssues(error: z.ZodError, max = 3): string {
  return error.issues
    .slice(0, max)
    .map((i) => `${issuePath(i.path)}: ${i.message}`)
    .join('; ');
}

/** A label in its text form (`SECRET/MEDICAL`), as stores keep it: parsed by the one label parser, failing closed. */
export const labelTextSchema = z.string().transform((text, ctx) => {
  try {
    return parseLabelText(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a label such as SECRET/MEDICAL' });
    return z.NEVER;
  }
});
