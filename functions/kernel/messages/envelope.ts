import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { signedDirectiveSchema } from '../directives/claims';
import { SecurityError } from '../errors';
import { agentNameSchema, describeIssues, labelSchema, principalSchema, sha256HexSchema, uuidSchema } from '../schemas';

/**
 * The SQS body every agent sends and receives (DESIGN §4): a versioned envelope, validated strictly before
 * anything else looks at it. Everything in it except the ciphertext is visible to whoever can read queues.
 */

/** The largest SQS message body. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

export const MESSAGE_KINDS = ['task', 'result', 'directive'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/**
 * Message ids are UUIDv7: the timestamp inside is bound into the encryption context with the id, so a
 * receiver can refuse a replay older than queue retention even after the consumed-id record has expired.
 */
export const messageIdSchema = z.uuid({ version: 'v7' });

export const agentMessageSchema = z
  .object({
    v: z.literal(1),
    id: messageIdSchema,
    from: agentNameSchema,
    to: agentNameSchema,
    kind: z.enum(MESSAGE_KINDS),
    label: labelSchema,
    commandId: uuidSchema,
    /** The authenticated user the command serves. */
    principal: principalSchema,
    ciphertext: z.base64().min(1).max(MAX_MESSAGE_BYTES),
    /**
     * HMAC-SHA256 of the plaintext under the salt sealed with it: a declassification directive binds exactly this
     * content, and no reader of the envelope can test a guess of the plaintext against it (DESIGN §6).
     */
    contentDigest: sha256HexSchema,
    directive: signedDirectiveSchema.optional(),
    sentAt: z.iso.datetime(),
  })
  .strict()
  .refine((m) => m.kind !== 'directive' || m.directive !== undefined, {
    message: 'a directive message carries a directive',
    path: ['directive'],
  });

export type AgentMessage = z.output<typeof agentMessageSchema>;

/** Parses an SQS body; anything that is not a well-formed message is SCHEMA, with the offending path. */
export function parseMessage(body: string): AgentMessage {
  if (typeof body !== 'string') throw new SecurityError('SCHEMA', 'message body is not a string');
  if (Buffer.byteLength(body, 'utf8') > MAX_MESSAGE_BYTES) throw new SecurityError('SCHEMA', 'message body is too large');
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new SecurityError('SCHEMA', 'message body is not JSON');
  }
  const parsed = agentMessageSchema.safeParse(json);
  if (!parsed.success) throw new SecurityError('SCHEMA', `message ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** A fresh UUIDv7 message id (RFC 9562: 48-bit milliseconds, version 7, variant 10, random rest). */
export function newMessageId(now: number = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The creation time (epoch ms) inside a UUIDv7 message id. */
export function messageIdTime(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
