import * as z from 'zod';
import { labelTextSchema, principalSchema, uuidSchema } from '../kernel/schemas';

/**
 * A human's vote as the API forwards it to the signer, the only writer of approvals (DESIGN §3, §5). The API seals
 * it `from` itself: the approver is the user of the token the API verified, and no agent role can seal as the API.
 */
export const voteSchema = z.strictObject({
  kind: z.literal('vote'),
  requestId: uuidSchema,
  /** The command of the request voted on (bound in the envelope's encryption context). */
  commandId: uuidSchema,
  approver: principalSchema,
  /** The approver's clearance now, from the token the API verified (`SECRET/MEDICAL`). */
  clearance: labelTextSchema,
  decision: z.enum(['approve', 'reject']),
  reason: z.string().trim().min(1).max(200).optional(),
  /** The digest of what the approver was shown; when given, it must be what the request binds. */
  digest: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** The approver's WebAuthn assertion over this vote (`voteChallenge`); the signer verifies it against their passkey. */
  passkey: z.unknown().optional(),
});

export type Vote = z.input<typeof voteSchema>;

/** Why a vote counted for nothing. */
export const VOTE_REFUSALS = [
  'UNKNOWN_REQUEST',
  'ALREADY_DECIDED',
  'NOT_AN_APPROVER',
  /** The approver owns the command the request serves, or asked for it. */
  'SELF_APPROVAL',
  /** The approver is not cleared for what the request is about. */
  'ABOVE_CLEARANCE',
  /** The vote names another digest than the request binds: the approver saw something else. */
  'DIGEST_MISMATCH',
  /** An approval without a passkey assertion where the topology requires one (`votesWithoutPasskey`). */
  'PASSKEY_REQUIRED',
  /** The assertion does not verify against the approver's passkey over this vote, or they have none. */
  'PASSKEY_INVALID',
  'SCHEMA',
  'UNAUTHENTICATED',
  'IMPERSONATION',
] as const;

/** The signer's answer to a vote: recorded (and what the signer then decided), or refused with a code. */
export const voteAnswerSchema = z.discriminatedUnion('status', [
  z.strictObject({
    status: z.literal('recorded'),
    requestId: uuidSchema,
    commandId: uuidSchema,
    decision: z.enum(['approve', 'reject']),
    /** False when this approver had already voted so: nothing new was written. */
    recorded: z.boolean(),
    approvals: z.array(z.string()).readonly(),
    approvalsNeeded: z.number().int().min(1),
    /** `pending` until the threshold is met or someone rejects; then the signer's decision. */
    outcome: z.enum(['pending', 'signed', 'denied']),
  }),
  z.strictObject({ status: z.literal('refused'), code: z.enum(VOTE_REFUSALS), message: z.string() }),
]);

export type VoteAnswer = z.output<typeof voteAnswerSchema>;

/**
 * An approver's passkey registration as the API forwards it (sealed `from` the API, like a vote): the username is
 * the token's user; the response is the browser's registration ceremony, still untrusted until the signer verifies it.
 */
export const passkeyRegistrationSchema = z.strictObject({
  kind: z.literal('passkey-registration'),
  username: principalSchema,
  response: z.unknown(),
});

export type PasskeyRegistration = z.input<typeof passkeyRegistrationSchema>;

export const PASSKEY_REFUSALS = [
  'NOT_AN_APPROVER',
  /** The approver has a passkey already: a second one is never added over the API (DESIGN §5). */
  'PASSKEY_EXISTS',
  'PASSKEY_INVALID',
  /** The deployment names no console origin, so there is no relying party to register for. */
  'NO_RELYING_PARTY',
  'SCHEMA',
  'UNAUTHENTICATED',
  'IMPERSONATION',
] as const;

export const passkeyAnswerSchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('registered'), username: z.string(), credentialId: z.string(), createdAt: z.string() }),
  z.strictObject({ status: z.literal('refused'), code: z.enum(PASSKEY_REFUSALS), message: z.string() }),
]);

export type PasskeyAnswer = z.output<typeof passkeyAnswerSchema>;
