import * as z from 'zod';
import { SecurityError } from '../errors';
import { Label, formatLabel } from '../labels';
import { describeIssues, labelTextSchema, uuidSchema } from '../schemas';
import type { EnvelopeCipher } from './envelope-cipher';

/**
 * A request to a service function (the signer, the effect gateway) that names its caller by KMS, not by a field
 * the caller wrote about itself (DESIGN §1: identity is never self-declared). A Lambda invoke carries no caller
 * identity, so the caller seals the request body as an envelope `from` itself: IAM lets a role create data keys
 * only with `kms:EncryptionContext:from` = its own name (DESIGN §3), and KMS unwraps the data key only under the
 * exact context it was made with, so a body that opens with `from` = X was sealed by X's role.
 */

/** Who may appear as the sender of a sealed request: an agent or service name (no `#`, no spaces). */
const actorNameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be an actor name');

export const sealedRequestSchema = z.strictObject({
  /** Marks the event as sealed (format version). */
  sealed: z.literal(1),
  /** The caller, as KMS will authenticate it. */
  from: actorNameSchema,
  /** The service the request is for. */
  to: actorNameSchema,
  /** One id per request: the envelope's message id. */
  requestId: uuidSchema,
  /** The command the request serves. */
  commandId: uuidSchema,
  /** The caller's clearance label: the level key it seals under (IAM: at or above its own level). */
  label: z.string().max(256),
  ciphertext: z.string().max(400_000),
});

export type SealedRequest = z.output<typeof sealedRequestSchema>;

export interface RequestToSeal {
  readonly from: string;
  readonly to: string;
  /** Sealed at this label, normally the caller's own clearance (always a level it may write at). */
  readonly label: Label;
  readonly requestId: string;
  readonly commandId: string;
  /** JSON-serializable request body. */
  readonly body: unknown;
}

/** An opened request: `from` is authenticated by KMS; `body` is still untrusted input for the service to parse. */
export interface OpenedRequest {
  readonly from: string;
  readonly requestId: string;
  readonly commandId: string;
  readonly body: unknown;
}

/**
 * Seals `body` for the service `to` as `from`.
 *
 * @example
 * const sealed = await sealRequest(cipher, { from: 'analyst', to: 'signer', label: clearance, requestId, commandId, body: request });
 */
export async function sealRequest(cipher: EnvelopeCipher, req: RequestToSeal): Promise<SealedRequest> {
  const ciphertext = await cipher.seal({
    from: req.from,
    to: req.to,
    label: req.label,
    messageId: req.requestId,
    commandId: req.commandId,
    plaintext: JSON.stringify(req.body),
  });
  return { sealed: 1, from: req.from, to: req.to, requestId: req.requestId, commandId: req.commandId, label: formatLabel(req.label), ciphertext };
}

/** True for an event that claims to be a sealed request (it is only authenticated by {@link openRequest}). */
export function isSealedRequest(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { sealed?: unknown }).sealed === 1;
}

/**
 * Opens a request addressed to `to`: SCHEMA when it is not a sealed request, MISROUTED when it is for another
 * service, TAMPERED or CONTEXT_MISMATCH when it was not sealed under exactly the context it claims (so its
 * `from` is not authenticated).
 */
export async function openRequest(cipher: EnvelopeCipher, event: unknown, to: string): Promise<OpenedRequest> {
  const parsed = sealedRequestSchema.safeParse(event);
  if (!parsed.success) throw new SecurityError('UNAUTHENTICATED', `not a sealed request: ${describeIssues(parsed.error)}`);
  const sealed = parsed.data;
  if (sealed.to !== to) throw new SecurityError('MISROUTED', `request sealed for ${sealed.to}, not ${to}`);
  const labelText = labelTextSchema.safeParse(sealed.label);
  if (!labelText.success) throw new SecurityError('SCHEMA', 'request label is not a label');
  const plaintext = await cipher.open({
    from: sealed.from,
    to,
    label: labelText.data,
    messageId: sealed.requestId,
    commandId: sealed.commandId,
    ciphertext: sealed.ciphertext,
  });
  let body: unknown;
  try {
    body = JSON.parse(plaintext.toString('utf8'));
  } catch {
    throw new SecurityError('SCHEMA', 'sealed request body is not JSON');
  }
  return { from: sealed.from, requestId: sealed.requestId, commandId: sealed.commandId, body };
}
