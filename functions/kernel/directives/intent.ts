import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { SecurityError } from '../errors';
import { Label } from '../labels';
import type { EnvelopeCipher } from '../messages/envelope-cipher';
import { describeIssues, labelTextSchema, principalSchema, uuidSchema } from '../schemas';
import { capabilitySchema } from './capabilities';

/**
 * The user's intent, as the signer reads it (DESIGN §5, §6): the command's text, its capabilities and how far it
 * pre-authorized declassification, sealed by the API
 * (the one function that verified the user's token) for the signer alone. KMS pins `from` = `api`, so no agent
 * role can write an intent, widen a capability or add a recipient to the user's text, even though several
 * principals write the commands table where it is kept; the context binds the command, so no intent serves another.
 */

/** Who seals intents, and for whom. */
export const INTENT_SEALER = 'api';
export const INTENT_READER = 'signer';

export const intentSchema = z.strictObject({
  /** The user the API authenticated: the command's owner, whatever a writer of the commands table says. */
  owner: principalSchema,
  /** The user's own words: the trusted source of target-like arguments a tool's policy lets come from it. */
  text: z.string(),
  allow: z.array(capabilitySchema),
  /** The label the user pre-authorized declassification down to (DESIGN §6), as text (`CONFIDENTIAL/MEDICAL`). */
  declassifyTo: labelTextSchema.optional(),
});
export type Intent = z.output<typeof intentSchema>;
/** An intent as the API writes it (a pre-authorized label in its text form). */
export type IntentInput = z.input<typeof intentSchema>;

/** An intent as the commands table keeps it. */
export const sealedIntentSchema = z.strictObject({ id: uuidSchema, ciphertext: z.string().min(1) });
export type SealedIntent = z.output<typeof sealedIntentSchema>;

/** Seals `intent` from the API to the signer at the command's label (one KMS call). */
export async function sealIntent(cipher: EnvelopeCipher, commandId: string, label: Label, intent: IntentInput): Promise<SealedIntent> {
  const id = randomUUID();
  const ciphertext = await cipher.seal({ from: INTENT_SEALER, to: INTENT_READER, label, messageId: id, commandId, plaintext: JSON.stringify(intent) });
  return { id, ciphertext };
}

/** Opens a command's intent: TAMPERED or CONTEXT_MISMATCH unless the API sealed it for this command at this label. */
export async function openIntent(cipher: EnvelopeCipher, commandId: string, label: Label, sealed: SealedIntent): Promise<Intent> {
  const plaintext = await cipher.open({ from: INTENT_SEALER, to: INTENT_READER, label, messageId: sealed.id, commandId, ciphertext: sealed.ciphertext });
  let json: unknown;
  try {
    json = JSON.parse(plaintext.toString('utf8'));
  } catch {
    throw new SecurityError('SCHEMA', `the intent of command ${commandId} is not JSON`);
  }
  const parsed = intentSchema.safeParse(json);
  if (!parsed.success) throw new SecurityError('SCHEMA', `the intent of command ${commandId}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
