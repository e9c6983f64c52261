import * as z from 'zod';
import {
  AuthenticationResponseJSON,
  AuthenticatorTransportFuture,
  RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { VoteToSign, registrationChallenge, voteChallenge } from '../kernel/directives/passkey-challenge';
import type { StoredPasskey } from '../stores/passkeys';

/**
 * WebAuthn for approvers (DESIGN §5), verified by the signer with a maintained library (@simplewebauthn/server):
 * a passkey's registration, and the assertion that is a vote. The relying party is the console: its origin is
 * what the browser writes into the signed client data, its host the RP id whose hash the authenticator signs.
 */

export interface RelyingParty {
  /** `https://d1234.cloudfront.net`: the only origin an assertion may come from. */
  readonly origin: string;
  /** The origin's host: the RP id. */
  readonly rpId: string;
}

/** The relying party of a console at `origin`. */
export function relyingPartyOf(origin: string): RelyingParty {
  const url = new URL(origin);
  return { origin: url.origin, rpId: url.hostname };
}

/** Why a passkey operation was refused. */
export class PasskeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasskeyError';
  }
}

const b64url = z.string().regex(/^[A-Za-z0-9_-]*$/, 'must be base64url').max(16_384);

/** The fields every public-key credential JSON carries, around its ceremony's `response`, bounded in size. */
const credentialJson = <R extends z.ZodRawShape>(response: R) =>
  z.looseObject({
    id: b64url.min(1).max(1_024),
    rawId: b64url.min(1).max(1_024),
    type: z.literal('public-key'),
    response: z.looseObject(response),
    clientExtensionResults: z.record(z.string(), z.unknown()),
    authenticatorAttachment: z.string().max(32).optional(),
  });

/** The JSON a browser's `navigator.credentials.create()` gives (WebAuthn Level 3 `toJSON()`). */
export const registrationResponseSchema = credentialJson({
  clientDataJSON: b64url.min(1),
  attestationObject: b64url.min(1),
  transports: z.array(z.string().max(32)).max(8).optional(),
});

/** The JSON of `navigator.credentials.get()`: an assertion. */
export const authenticationResponseSchema = credentialJson({
  clientDataJSON: b64url.min(1),
  authenticatorData: b64url.min(1),
  signature: b64url.min(1),
  userHandle: b64url.optional(),
});

/**
 * Verifies a registration ceremony for `username` at `rp` (origin, RP id, user verification, the challenge bound
 * to the account) and returns the passkey to store. Attestation is `none`: the key is trusted because the approver's
 * own session registered it, not because of who made the authenticator.
 */
export async function verifyPasskeyRegistration(rp: RelyingParty, username: string, response: unknown, now: Date): Promise<StoredPasskey> {
  const parsed = registrationResponseSchema.safeParse(response);
  if (!parsed.success) throw new PasskeyError('the registration is not a WebAuthn credential');
  let verified;
  try {
    verified = await verifyRegistrationResponse({
      response: parsed.data as unknown as RegistrationResponseJSON,
      expectedChallenge: registrationChallenge(username),
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpId,
      requireUserVerification: true,
    });
  } catch (err) {
    throw new PasskeyError(`the registration does not verify: ${(err as Error).message}`);
  }
  if (!verified.verified) throw new PasskeyError('the registration does not verify');
  const { credential } = verified.registrationInfo;
  return {
    username,
    credentialId: credential.id,
    publicKey: Buffer.from(credential.publicKey).toString('base64url'),
    counter: credential.counter,
    ...(credential.transports?.length ? { transports: credential.transports } : {}),
    createdAt: now.toISOString(),
  };
}

/**
 * Verifies that `passkey` signed `vote`: the assertion's challenge is the vote's own digest ({@link voteChallenge}),
 * from the console's origin, for its RP id, with the user verified. Returns the authenticator's new counter.
 */
export async function verifyPasskeyVote(rp: RelyingParty, passkey: StoredPasskey, response: unknown, vote: VoteToSign): Promise<number> {
  const parsed = authenticationResponseSchema.safeParse(response);
  if (!parsed.success) throw new PasskeyError('the vote carries no WebAuthn assertion');
  if (parsed.data.id !== passkey.credentialId) throw new PasskeyError(`the assertion is not by ${passkey.username}'s passkey`);
  let verified;
  try {
    verified = await verifyAuthenticationResponse({
      response: parsed.data as unknown as AuthenticationResponseJSON,
      expectedChallenge: voteChallenge(vote),
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpId,
      credential: {
        id: passkey.credentialId,
        publicKey: Buffer.from(passkey.publicKey, 'base64url'),
        counter: passkey.counter,
        ...(passkey.transports ? { transports: passkey.transports as AuthenticatorTransportFuture[] } : {}),
      },
      requireUserVerification: true,
    });
  } catch (err) {
    throw new PasskeyError(`the assertion does not verify: ${(err as Error).message}`);
  }
  if (!verified.verified) throw new PasskeyError('the assertion does not verify');
  return verified.authenticationInfo.newCounter;
}
