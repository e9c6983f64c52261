import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical';

/**
 * What a passkey signs (DESIGN §5). A WebAuthn assertion signs its challenge; a vote's challenge is the digest of
 * the vote itself, so the person's authenticator signs "approve request R of command C, whose content digest is D"
 * and nothing the API or a runtime chose after the fact can be put in its place. Deterministic: the signer
 * recomputes it from the vote and needs no stored challenge; a replayed assertion can only cast the same vote on
 * the same request again, which records nothing new.
 */
export interface VoteToSign {
  readonly requestId: string;
  readonly commandId: string;
  /** The digest the request binds (its arguments' or its content's): what the approver was shown. */
  readonly digest: string;
  readonly decision: 'approve' | 'reject';
}

/** The base64url challenge a passkey signs for `vote`. */
export function voteChallenge(vote: VoteToSign): string {
  return challengeOf({ purpose: 'agentsec-vote', requestId: vote.requestId, commandId: vote.commandId, digest: vote.digest, decision: vote.decision });
}

/**
 * The challenge of a passkey's registration for `username`. With attestation `none` nothing in a registration is
 * signed by the authenticator, so this only binds an honest browser's ceremony to the account; what binds the key
 * to the person is the authenticated session that registers it, and that a user's first passkey is their only one.
 */
export function registrationChallenge(username: string): string {
  return challengeOf({ purpose: 'agentsec-passkey-registration', username });
}

function challengeOf(value: Record<string, string>): string {
  return createHash('sha256').update(canonicalJson(value)).digest('base64url');
}
