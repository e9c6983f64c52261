import * as z from 'zod';
import { signedDirectiveSchema } from '../kernel/directives/claims';
import { REASON_CODES } from '../kernel/errors';
import { uuidSchema } from '../kernel/schemas';
import { digestSaltSchema } from '../kernel/keyed-digest';

/**
 * What an agent asks the effect gateway, sealed `from` itself (DESIGN §1, §5), and what the gateway answers. Both
 * cross a trust boundary: the request comes from an agent runtime that may be compromised.
 */

/** The name the gateway acts under: the `to` of the requests sealed for it, the `actor` of its ledger entries. */
export const EFFECT_GATEWAY = 'effects';

const jsonObject = z.record(z.string(), z.unknown());

export const sideEffectSchema = z.strictObject({
  tool: z.string().min(1).max(64),
  agent: z.string().min(1).max(64),
  commandId: uuidSchema,
  messageId: z.string().min(1).max(128),
  directiveId: uuidSchema.optional(),
  args: jsonObject,
  argsSalt: digestSaltSchema.optional(),
  payload: jsonObject.nullable(),
});

export const effectRequestSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('record'), effectId: z.string().min(1).max(512), effect: sideEffectSchema, directive: signedDirectiveSchema.optional() }),
  z.strictObject({ kind: z.literal('lookup'), effectId: z.string().min(1).max(512) }),
]);

export type EffectRequest = z.output<typeof effectRequestSchema>;

const outboxRecordSchema = sideEffectSchema.extend({ effectId: z.string(), recordedAt: z.string(), dispatchedAt: z.string().optional() });

export const effectAnswerSchema = z.discriminatedUnion('status', [
  /** Written now (`recorded: true`) or already there for this same call (`false`). */
  z.strictObject({ status: z.literal('recorded'), recorded: z.boolean() }),
  z.strictObject({ status: z.literal('found'), record: outboxRecordSchema.optional() }),
  z.strictObject({ status: z.literal('refused'), reason: z.enum(REASON_CODES), message: z.string() }),
]);

export type EffectAnswer = z.output<typeof effectAnswerSchema>;
