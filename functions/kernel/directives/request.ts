import * as z from 'zod';
import { argsDigest, signedDirectiveSchema } from './claims';
import { REASON_CODES } from '../errors';
import { digestSaltSchema } from '../keyed-digest';
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
  .object({
    kind: z.literal('tool'),
    ...common,
    tool: toolNameSchema,
    args: z.json(),
    /** The salt the arguments' digest is keyed with (see `argsDigest`): chosen by the requester, sealed with the request. */
    argsSalt: digestSaltSchema,
  })
  .strict();

/**
 * How the released content was made (DESIGN §6). `rule`: built by a release rule from these fields, which the signer
 * rebuilds with the same kernel function and checks against `contentDigest` (a compromised core may claim it falsely);
 * `free-text`: anything else, which goes down only with a human's approval.
 */
export const releaseClaimSchema = z.discriminatedUnion('path', [
  z
    .object({
      path: z.literal('rule'),
      rule: z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/),
      fields: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,30}$/), z.string().max(64)),
      /** The released task's subtask id: the content is `{subtaskId, task}`. */
      subtaskId: uuidSchema,
      /** The salt `contentDigest` is keyed with, when it is keyed. */
      salt: digestSaltSchema.optional(),
    })
    .strict(),
  z
    .object({
      path: z.literal('free-text'),
      /**
       * The exact text to be released, its subtask and the salt of `contentDigest`: the signer checks the digest and
       * shows the text to the approvers (DESIGN §5: informed approval). Without them approvers see a digest only.
       */
      text: z.string().max(16 * 1024).optional(),
      subtaskId: uuidSchema.optional(),
      salt: digestSaltSchema.optional(),
    })
    .strict(),
]);
export type ReleaseClaim = z.output<typeof releaseClaimSchema>;

export const declassifyRequestSchema = z
  .object({
    kind: z.literal('declassify'),
    ...common,
    /** The keyed digest of the redacted content the receiver will be handed (the envelope's `contentDigest`). */
    contentDigest: sha256HexSchema,
    /** The lowered label, strictly below `label`. */
    declassifyTo: labelSchema,
    release: releaseClaimSchema,
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
  /** How a declassification's content was made; `rule` only once the signer rebuilt it (see `releaseClaimSchema`). */
  readonly release?: 'rule' | 'free-text';
  /** The release rule that built it, when `release` is `rule`. */
  readonly releaseRule?: string;
}

export function bindRequest(req: DirectiveRequest): BoundRequest {
  const { requestId, kind, requester, commandId, target, label } = req;
  return req.kind === 'tool'
    ? { requestId, kind, requester, commandId, target, label, tool: req.tool, argsDigest: argsDigest(req.args, req.argsSalt) }
    : {
        requestId,
        kind,
        requester,
        commandId,
        target,
        label,
        contentDigest: req.contentDigest,
        declassifyTo: req.declassifyTo,
        release: req.release.path,
        ...(req.release.path === 'rule' ? { releaseRule: req.release.rule } : {}),
      };
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
