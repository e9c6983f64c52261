import * as z from 'zod';
import { SecurityError, isSecurityError } from '../kernel/errors';
import { LEVELS, Label, dominates, formatLabel, label as makeLabel, parseLabel } from '../kernel/labels';
import { describeIssues, uuidSchema } from '../kernel/schemas';
import { Topology } from '../kernel/topology/topology';
import { ApiError } from './errors';
import { AllowEntry, allowEntrySchema } from '../kernel/directives/capabilities';

/**
 * Request schemas of the HTTP API. Every route parses its input with one of these before it reads or writes
 * anything, so malformed input is a 400 and never reaches the kernel (DESIGN §10: never a 5xx for bad input).
 * Objects are strict: an unknown field is an error, not something silently ignored.
 */

/** The longest command text, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 16 * 1024;

/** The most entries `GET /v1/audit` returns at once, and how many when the caller does not say. */
export const MAX_AUDIT_LIMIT = 1000;
export const DEFAULT_AUDIT_LIMIT = 100;

const LONE_SURROGATE = /\p{Cs}/u;

const commandText = z
  .string()
  .refine((t) => t.trim().length > 0, 'must not be empty')
  .refine((t) => Buffer.byteLength(t, 'utf8') <= MAX_TEXT_BYTES, `must be at most ${MAX_TEXT_BYTES} bytes of UTF-8`)
  // Sealed bytes must be the text the user sent: a lone surrogate would be silently replaced in UTF-8.
  .refine((t) => !LONE_SURROGATE.test(t), 'must be well-formed Unicode');

/** `POST /v1/commands`. Labels are parsed by the kernel against the topology's compartments (fail closed). */
export function commandRequestSchema(topology: Topology) {
  /** A label object, refused with the kernel's reason when it is not one of the topology's. */
  const labelOf = (value: unknown, ctx: z.RefinementCtx): Label => {
    try {
      if (typeof value !== 'object' || value === null) throw new SecurityError('SCHEMA', `must be a level (one of ${LEVELS.join(', ')}) or a label {level, compartments}`);
      refuseDuplicateCompartments(value);
      return parseLabel(value, topology.compartments);
    } catch (err) {
      if (!isSecurityError(err, 'SCHEMA')) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  };
  return z
    .strictObject({
      text: commandText,
      classification: z.unknown().transform((value, ctx) => labelOf(value, ctx)),
      allow: z
        .array(allowEntrySchema.refine((e) => topology.tools.has(typeof e === 'string' ? e : e.tool), 'unknown tool'))
        .max(64)
        .default([])
        .transform((entries) => normalizedAllow(entries)),
      /** A whole label `{level, compartments}`, or a bare level: that level with the content's compartments kept. */
      declassifyTo: z
        .unknown()
        .optional()
        .transform((value, ctx): Label | (typeof LEVELS)[number] | undefined => {
          if (value === undefined) return undefined;
          if (typeof value === 'string' && (LEVELS as readonly string[]).includes(value)) return value as (typeof LEVELS)[number];
          return labelOf(value, ctx);
        }),
    })
    .superRefine((r, ctx) => {
      // A pre-authorization lowers the command's label: one above it (or beside it) authorizes nothing meaningful.
      if (r.declassifyTo !== undefined && !dominates(r.classification, preAuthorizedLabel(r.declassifyTo, r.classification))) {
        ctx.addIssue({ code: 'custom', path: ['declassifyTo'], message: `must not be above the command's classification ${formatLabel(r.classification)}` });
      }
    });
}

/** A label that names a compartment twice is a mistake, not a label: refused rather than silently merged. */
function refuseDuplicateCompartments(value: unknown): void {
  const compartments = (value as { compartments?: unknown } | null)?.compartments;
  if (Array.isArray(compartments) && new Set(compartments).size !== compartments.length) {
    throw new SecurityError('SCHEMA', 'compartments must not repeat');
  }
}

/**
 * The label a command pre-authorizes declassification to (DESIGN §6): a bare level keeps the command's compartments,
 * so pre-authorizing SECRET never drops MEDICAL.
 */
export function preAuthorizedLabel(declassifyTo: Label | (typeof LEVELS)[number], classification: Label): Label {
  return typeof declassifyTo === 'string' ? makeLabel(declassifyTo, classification.compartments) : declassifyTo;
}

/** Bare tool names once each and sorted, then capabilities in the order given (their index names their uses). */
function normalizedAllow(entries: readonly AllowEntry[]): AllowEntry[] {
  const names = [...new Set(entries.filter((e): e is string => typeof e === 'string'))].sort();
  return [...names, ...entries.filter((e) => typeof e !== 'string')];
}

export type CommandRequest = z.output<ReturnType<typeof commandRequestSchema>>;

/** `POST /v1/approvals/{id}`: an approver's decision, with a short optional reason. */
export const approvalDecisionSchema = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  reason: z.string().trim().min(1).max(200).optional(),
  /** The digest of what the approver was shown (`GET /v1/approvals`): the vote counts only for exactly that. */
  digest: z.string().regex(/^[0-9a-f]{64}$/, 'must be the digest GET /v1/approvals showed').optional(),
  /** The approver's WebAuthn assertion over this vote (`navigator.credentials.get()` as JSON); the signer verifies it. */
  passkey: z.record(z.string(), z.unknown()).optional(),
});

/** `POST /v1/passkeys`: the browser's registration ceremony (`navigator.credentials.create()` as JSON). */
export const passkeyRegistrationRequestSchema = z.strictObject({
  response: z.record(z.string(), z.unknown()),
});

export type ApprovalDecisionRequest = z.output<typeof approvalDecisionSchema>;

const counter = z.string().regex(/^\d{1,15}$/, 'must be a non-negative integer').transform(Number);

/** `GET /v1/audit?since=SEQ&limit=N`: entries after `since`, at most `limit`. */
export const auditQuerySchema = z.strictObject({
  since: counter.default(0),
  limit: counter.pipe(z.number().int().min(1).max(MAX_AUDIT_LIMIT)).default(DEFAULT_AUDIT_LIMIT),
});

export type AuditQuery = z.output<typeof auditQuerySchema>;

/** `GET /v1/audit/proofs/{seq}`: the sequence number of one ledger entry. */
export const entrySeqSchema = z.string().regex(/^[1-9]\d{0,14}$/, 'must be a positive integer').transform(Number);

/** `GET /v1/audit/consistency?from=M&to=N`: the sizes of two signed tree heads, the earlier first. */
export const consistencyQuerySchema = z
  .strictObject({ from: entrySeqSchema, to: entrySeqSchema })
  .refine((q) => q.from <= q.to, { message: 'from must not exceed to', path: ['from'] });

export type ConsistencyQuery = z.output<typeof consistencyQuerySchema>;

/** `POST /v1/audit/checkpoints`: no body, or an empty object; nothing a caller says shapes the checkpoint. */
export const checkpointRequestSchema = z.strictObject({});

/** Path identifiers (command ids, approval request ids) are UUIDs; anything else names nothing. */
export const resourceIdSchema = uuidSchema;

/** Parses `value` with `schema`, turning every failure into a 400 SCHEMA that names the offending fields. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw ApiError.schema(`${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
