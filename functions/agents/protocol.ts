import * as z from 'zod';
import { SecurityError } from '../kernel/errors';

/** The plaintext of a `task` message: one subtask of a command. */
export const taskBodySchema = z.object({ subtaskId: z.uuid(), task: z.string().min(1).max(64_000) }).strict();
export type TaskBody = z.infer<typeof taskBodySchema>;

/** The plaintext of a `result` message. */
export const resultBodySchema = z
  .object({
    subtaskId: z.uuid(),
    status: z.enum(['completed', 'awaiting_approval', 'denied', 'failed']),
    content: z.string().max(256_000).optional(),
    reason: z.string().max(64).optional(),
    requestId: z.uuid().optional(),
  })
  .strict();
export type ResultBody = z.infer<typeof resultBodySchema>;

/** The plaintext of a `directive` message the signer sends when approvals complete. */
export const directiveBodySchema = z.object({ requestId: z.uuid() }).strict();

/** Parses a decrypted body; a malformed one is a SCHEMA refusal (it came from a compromised sender). */
export function parseBody<T extends z.ZodType>(schema: T, plaintext: Buffer): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(plaintext.toString('utf8'));
  } catch {
    throw new SecurityError('SCHEMA', 'message body is not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new SecurityError('SCHEMA', `message body: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
