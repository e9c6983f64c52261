import { randomUUID } from 'node:crypto';
import { generateRegistrationOptions, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { formatLabel } from '../kernel/labels';
import { registrationChallenge, voteChallenge, VoteToSign } from '../kernel/directives/passkey-challenge';
import type { SealedRequest } from '../kernel/messages/sealed-request';
import type { RelyingParty } from '../signer/passkeys';
import type { SignerClient } from '../signer/signer-client';
import type { PasskeyRegistration } from '../signer/votes';
import type { PasskeyStore, StoredPasskey } from '../stores/passkeys';
import { Caller } from './caller';
import { ApiError } from './errors';
import { parseRequest, passkeyRegistrationRequestSchema } from './schemas';

/** `GET /v1/me`: who the token says the caller is, and whether they can sign votes. */
export interface MeView {
  username: string;
  clearance: string;
  approver: boolean;
  passkey: { registered: boolean; createdAt?: string };
}

/** `POST /v1/passkeys`: the passkey the signer stored. */
export interface PasskeyView {
  username: string;
  credentialId: string;
  createdAt: string;
}

export interface PasskeyServiceProps {
  /** Read only: the signer alone writes passkeys (DESIGN §5). */
  readonly passkeys: Pick<PasskeyStore, 'load'>;
  readonly signer: Pick<SignerClient, 'registerPasskey'>;
  /** Seals a registration `from` the API, which is how the signer knows the token's user asked for it. */
  readonly seal: (registration: PasskeyRegistration, requestId: string) => Promise<SealedRequest>;
  /** The console approvers vote from. @default none: passkeys cannot be registered */
  readonly relyingParty?: RelyingParty;
}

/** How long a browser waits for the person at the authenticator. */
const CEREMONY_TIMEOUT_MS = 120_000;

/**
 * Approvers' passkeys through the API (DESIGN §5): the API hands out ceremony options and forwards the result,
 * sealed as itself, to the signer, which verifies and stores it. Nothing here decides whether a key is accepted.
 */
export class PasskeyService {
  constructor(private readonly props: PasskeyServiceProps) {}

  async me(caller: Caller): Promise<MeView> {
    const passkey = caller.isApprover ? await this.props.passkeys.load(caller.username) : undefined;
    return {
      username: caller.username,
      clearance: formatLabel(caller.clearance),
      approver: caller.isApprover,
      passkey: passkey ? { registered: true, createdAt: passkey.createdAt } : { registered: false },
    };
  }

  /** `POST /v1/passkeys/options`: what the browser passes to `navigator.credentials.create()`. */
  async registrationOptions(caller: Caller): Promise<{ options: PublicKeyCredentialCreationOptionsJSON }> {
    const rp = this.canRegister(caller);
    if (await this.props.passkeys.load(caller.username)) throw ApiError.conflict(`${caller.username} already has a passkey; only an operator can remove it`);
    const options = await generateRegistrationOptions({
      rpName: 'AgentSec',
      rpID: rp.rpId,
      userName: caller.username,
      userID: Buffer.from(caller.username, 'utf8'),
      challenge: Buffer.from(registrationChallenge(caller.username), 'base64url'),
      attestationType: 'none',
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
      timeout: CEREMONY_TIMEOUT_MS,
    });
    return { options };
  }

  /** `POST /v1/passkeys`: forwards the ceremony to the signer, which verifies and stores the approver's only passkey. */
  async register(caller: Caller, body: unknown): Promise<PasskeyView> {
    this.canRegister(caller);
    const { response } = parseRequest(passkeyRegistrationRequestSchema, body, 'passkey registration');
    const answer = await this.props.signer.registerPasskey(
      await this.props.seal({ kind: 'passkey-registration', username: caller.username, response }, randomUUID()),
    );
    if (answer.status === 'registered') return { username: answer.username, credentialId: answer.credentialId, createdAt: answer.createdAt };
    if (answer.code === 'PASSKEY_EXISTS') throw ApiError.conflict(answer.message);
    if (answer.code === 'PASSKEY_INVALID') throw new ApiError(400, answer.message, 'UNAUTHENTICATED');
    if (answer.code === 'NOT_AN_APPROVER') throw ApiError.forbidden(answer.message);
    if (answer.code === 'NO_RELYING_PARTY') throw ApiError.conflict(answer.message);
    throw new Error(`the signer refused a passkey registration the API sealed: ${answer.code}`);
  }

  /**
   * What `navigator.credentials.get()` needs to sign `vote` with the approver's passkey; null when they have none
   * (or the deployment has no console to vote from).
   */
  voteOptions(passkey: StoredPasskey | undefined, vote: VoteToSign): PublicKeyCredentialRequestOptionsJSON | null {
    const rp = this.props.relyingParty;
    if (!rp || !passkey) return null;
    return {
      challenge: voteChallenge(vote),
      rpId: rp.rpId,
      allowCredentials: [{ id: passkey.credentialId, type: 'public-key', ...(passkey.transports ? { transports: passkey.transports as never } : {}) }],
      userVerification: 'required',
      timeout: CEREMONY_TIMEOUT_MS,
    };
  }

  private canRegister(caller: Caller): RelyingParty {
    if (!caller.isApprover) throw ApiError.forbidden(`${caller.username} is not an approver: passkeys sign approvals`);
    const rp = this.props.relyingParty;
    if (!rp) throw ApiError.conflict('this deployment names no console origin (AGENTSEC_CONSOLE_ORIGIN): passkeys are registered from the console');
    return rp;
  }
}
