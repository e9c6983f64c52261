import * as z from 'zod';
import { argsDigest, signedDirectiveSchema } from './claims';
import { REASON_CODES } from '../errors';
import { Label, dominates, sameLabel } from '../labels';
import { agentNameSchema, labelSchema, sha256HexSchema, uuidSchema } from '../schemas';
import { topologySchema } from '../topology/topology';

/**
 * What an agent asks the signer for, and what the signer answers (DESIGN §5). Both cross a trust boundary
 * (a Lambda invoke from an agent that may be compromised), so the request is parsed with this schema only.
 */

const toolNameSchema = topologySchema.shape.tools.keyType;

const common = {
  /** Chosen by the requester; one request id names one request for ever (its approvals hang off it). */
  requestId: uuidSchema,
  /** The agent asking. */
  requester: agentNameSchema,
  /** The user's command the action serves. */
  commandId: uuidSchema,
  /** The agent that will act: runs the tool, or receives the declassified content. */
  target: agentNameSchema,
  /** The label of what the action is about: the content that led to the tool call, or the content before redaction. */
  label: labelSchema,
};

export const toolRequestSchema = z
  .object({ kind: z.literal('tool'), ...common, tool: toolNameSchema, args: z.json() })
  .strict();

export const declassifyRequestSchema = z
  .object({
    kind: z.literal('declassify'),
    ...common,
    /** SHA-256 of the redacted content the receiver will be handed. */
    contentDigest: sha256HexSchema,
    /** The lowered label, strictly below `label`. */
    declassifyTo: labelSchema,
  })
  .strict()
  .refine((r) => dominates(r.label, r.declassifyTo) && !sameLabel(r.label, r.declassifyTo), {
    message: 'declassifyTo must be strictly below label',
    path: ['declassifyTo'],
  });

export const directiveRequestSchema = z.discriminatedUnion('kind', [toolRequestSchema, declassifyRequestSchema]);

export type ToolRequest = z.output<typeof toolRequestSchema>;
export type DeclassifyRequest = z.output<typeof declassifyRequestSchema>;
export type DirectiveRequest = z.output<typeof directiveRequestSchema>;
/** A request as a caller writes it (before parsing). */
export type DirectiveRequestInput = z.input<typeof directiveRequestSchema>;

/**
 * A request reduced to what a directive binds: the arguments replaced by their digest. This is what the
 * policy decides on and what the approvals table stores (DESIGN §1: tables hold digests, never plaintext).
 */
export interface BoundRequest {
  readonly requestId: string;
  readonly kind: 'tool' | 'declassify';
  readonly requester: string;
  readonly commandId: string;
  readonly target: string;
  readonly label: Label;
  readonly tool?: string;
  readonly argsDigest?: string;
  readonly contentDigest?: string;
  readonly declassifyTo?: Label;
}

export function bindRequest(req: DirectiveRequest): BoundRequest {
  const { requestId, kind, requester, commandId, target, label } = req;
  return req.kind === 'tool'
    ? { requestId, kind, requester, commandId, target, label, tool: req.tool, argsDigest: argsDigest(req.args) }
    : { requestId, kind, requester, commandId, target, label, contentDigest: req.contentDigest, declassifyTo: req.declassifyTo };
}

/** The signer's answer. `pending` waits for human approvals recorded through the API, then `resume`. */
export const signerDecisionSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('signed'), requestId: uuidSchema, directive: signedDirectiveSchema }).strict(),
  z
    .object({
      status: z.literal('pending'),
      requestId: uuidSchema,
      approvalsNeeded: z.number().int().min(1),
      approvals: z.array(z.string()).readonly(),
    })
    .strict(),
  z.object({ status: z.literal('denied'), requestId: uuidSchema.optional(), reason: z.enum(REASON_CODES), message: z.string() }).strict(),
]);

export type SignerDecision = z.output<typeof signerDecisionSchema>;
