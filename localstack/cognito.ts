import {
  AuthFlowType,
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import type { CognitoUserSession, IAuthenticationCallback, ICognitoStorage } from 'amazon-cognito-identity-js';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { awsClientConfig } from '../functions/platform/aws-clients';
import { SecurityError } from '../functions/kernel/errors';
import { dominates, formatLabel, Label, parseLabel } from '../functions/kernel/labels';
import type { Topology } from '../functions/kernel/topology/topology';

/**
 * Users and their identity tokens: logging in through Cognito (USER_PASSWORD_AUTH on the local cloud, SRP on a
 * deployed stack), verifying the ID token the way the HTTP API's JWT authorizer does, and reading the user's
 * clearance from it (DESIGN §2, §8).
 */

/** Checks a bearer token and returns its claims; rejects anything it cannot fully verify. */
export interface TokenVerifier {
  verify(token: string): Promise<Record<string, unknown>>;
}

export interface UserPoolRef {
  /** The emulator's endpoint; omitted on AWS, where the JWKS comes from Cognito itself. */
  readonly endpoint?: string;
  readonly userPoolId: string;
  readonly userPoolClientId: string;
}

/**
 * A verifier for ID tokens of this pool and app client: signature (RS256, key by `kid` from the pool's JWKS,
 * cached), issuer `https://cognito-idp.<region>.amazonaws.com/<pool>`, audience = the client, `token_use` =
 * `id` (the token that carries `custom:clearance`), and expiry. On the emulator the JWKS is fetched from its
 * `/<pool>/.well-known/jwks.json`; the issuer check is unchanged, so another pool's token is still refused.
 */
export function createTokenVerifier(pool: UserPoolRef): TokenVerifier {
  const verifier = CognitoJwtVerifier.create(
    { userPoolId: pool.userPoolId, clientId: pool.userPoolClientId, tokenUse: 'id' },
    pool.endpoint ? { jwksCache: new SimpleJwksCache({ fetcher: emulatorJwksFetcher(pool.endpoint, pool.userPoolId) }) } : undefined,
  );
  return { verify: async (token) => (await verifier.verify(token)) as Record<string, unknown> };
}

/** Fetches only this pool's JWKS, from the emulator; any other URI is refused rather than fetched. */
function emulatorJwksFetcher(endpoint: string, userPoolId: string): Fetcher {
  const region = userPoolId.split('_')[0];
  const allowed = new Set(
    [`https://cognito-idp.${region}.amazonaws.com`, `https://issuer-cognito-idp.${region}.amazonaws.com`].map(
      (issuerHost) => `${issuerHost}/${userPoolId}/.well-known/jwks.json`,
    ),
  );
  const url = `${endpoint.replace(/\/$/, '')}/${encodeURIComponent(userPoolId)}/.well-known/jwks.json`;
  return {
    fetch: async (uri: string) => {
      if (!allowed.has(uri)) throw new Error(`refusing to fetch JWKS from ${uri}`);
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`JWKS fetch from ${url} failed: HTTP ${res.status}`);
      return res.arrayBuffer();
    },
  };
}

export interface LoginProps {
  readonly endpoint?: string;
  readonly region?: string;
  readonly userPoolClientId: string;
  readonly username: string;
  readonly password: string;
}

export interface LoginResult {
  /** The ID token: the bearer token of the HTTP API. */
  readonly token: string;
  /** ISO 8601 time the token expires. */
  readonly expiresAt: string;
}

/** Logs a user in through Cognito (USER_PASSWORD_AUTH) and returns the ID token. */
export async function login(props: LoginProps): Promise<LoginResult> {
  const cognito = new CognitoIdentityProviderClient(
    awsClientConfig({ ...(props.endpoint && { endpoint: props.endpoint }), ...(props.region && { region: props.region }) }),
  );
  const out = await cognito
    .send(
      new InitiateAuthCommand({
        ClientId: props.userPoolClientId,
        AuthFlow: AuthFlowType.USER_PASSWORD_AUTH,
        AuthParameters: { USERNAME: props.username, PASSWORD: props.password },
      }),
    )
    .finally(() => cognito.destroy());
  const token = out.AuthenticationResult?.IdToken;
  if (!token) throw new Error(`login of ${props.username} did not complete (challenge ${out.ChallengeName ?? 'none'})`);
  const exp = decodePayload(token).exp;
  const expiresAt = typeof exp === 'number' ? exp * 1000 : Date.now() + (out.AuthenticationResult?.ExpiresIn ?? 3600) * 1000;
  return { token, expiresAt: new Date(expiresAt).toISOString() };
}

export interface SrpLoginProps {
  /** The emulator's (or a test's) Cognito endpoint; omitted on AWS, where it follows from the pool's region. */
  readonly endpoint?: string;
  /** `<region>_<id>`: SRP proves the password for this pool, and the region names Cognito's endpoint. */
  readonly userPoolId: string;
  readonly userPoolClientId: string;
  readonly username: string;
  readonly password: string;
  /** Asked when Cognito wants the password changed (NEW_PASSWORD_REQUIRED); without it that challenge is an error. */
  readonly newPassword?: () => Promise<string>;
  /** Asked when the user has an authenticator app (SOFTWARE_TOKEN_MFA); without it that challenge is an error. */
  readonly mfaCode?: () => Promise<string>;
}

/** Cognito wants the user to choose a new password (first login after an administrator set a temporary one). */
export class NewPasswordRequiredError extends Error {
  constructor(readonly username: string) {
    super(`Cognito asks ${username} to choose a new password`);
    this.name = 'NewPasswordRequiredError';
  }
}

/** Cognito wants the code the user's authenticator app shows (SOFTWARE_TOKEN_MFA). */
export class MfaCodeRequiredError extends Error {
  constructor(readonly username: string) {
    super(`Cognito asks ${username} for the code from the authenticator app`);
    this.name = 'MfaCodeRequiredError';
  }
}

/** Cognito asked something the login cannot answer (SMS codes, MFA set-up, a custom challenge). */
export class UnsupportedChallengeError extends Error {
  constructor(readonly challenge: string) {
    super(`Cognito asked for ${challenge}, which this login cannot answer`);
    this.name = 'UnsupportedChallengeError';
  }
}

/** Cognito refused the login; `code` is its exception name (`NotAuthorizedException`, `InvalidPasswordException`, ...). */
export class CognitoLoginError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'CognitoLoginError';
  }
}

/**
 * Logs a user in with Cognito's Secure Remote Password flow (USER_SRP_AUTH, then PASSWORD_VERIFIER) through
 * amazon-cognito-identity-js, AWS's own implementation of it: the password never leaves this process, only a proof
 * of it does. Answers NEW_PASSWORD_REQUIRED and SOFTWARE_TOKEN_MFA through `newPassword` and `mfaCode`; returns the
 * ID token. Refresh tokens are not kept: when the ID token expires the user logs in again.
 *
 * @example
 * const { token } = await loginWithSrp({ userPoolId: 'eu-west-1_AbC', userPoolClientId: '4x…', username: 'alice', password });
 */
export async function loginWithSrp(props: SrpLoginProps): Promise<LoginResult> {
  // Loaded on demand: only the CLI's logins to a deployed stack need it, not the local cloud's API server.
  const { AuthenticationDetails, CognitoUser, CognitoUserPool } = await import('amazon-cognito-identity-js');
  const pool = new CognitoUserPool({
    UserPoolId: props.userPoolId,
    ClientId: props.userPoolClientId,
    ...(props.endpoint && { endpoint: props.endpoint }),
  });
  // Its own storage: nothing the library caches outlives this login or reaches another one.
  const user = new CognitoUser({ Username: props.username, Pool: pool, Storage: new MemoryStorage() });
  const details = new AuthenticationDetails({ Username: props.username, Password: props.password });
  const session = await new Promise<CognitoUserSession>((resolve, reject) => {
    const answer = (ask: (() => Promise<string>) | undefined, missing: () => Error, send: (value: string) => void) => {
      if (!ask) return reject(missing());
      ask().then(send, reject);
    };
    const callbacks: IAuthenticationCallback = {
      onSuccess: resolve,
      onFailure: (err: unknown) => reject(loginError(err)),
      newPasswordRequired: (_attributes: unknown, required: unknown) => {
        // Attributes the pool requires before a first login cannot be given here; none of the stack's pools has any.
        if (Array.isArray(required) && required.length > 0) return reject(new UnsupportedChallengeError(`the attributes ${required.join(', ')}`));
        answer(props.newPassword, () => new NewPasswordRequiredError(props.username), (pw) => user.completeNewPasswordChallenge(pw, {}, callbacks));
      },
      totpRequired: () =>
        answer(props.mfaCode, () => new MfaCodeRequiredError(props.username), (code) =>
          user.sendMFACode(code, callbacks, 'SOFTWARE_TOKEN_MFA'),
        ),
      mfaRequired: (name) => reject(new UnsupportedChallengeError(String(name))),
      mfaSetup: (name) => reject(new UnsupportedChallengeError(String(name))),
      selectMFAType: (name) => reject(new UnsupportedChallengeError(String(name))),
      customChallenge: () => reject(new UnsupportedChallengeError('CUSTOM_CHALLENGE')),
    };
    user.authenticateUser(details, callbacks);
  });
  const idToken = session.getIdToken();
  return { token: idToken.getJwtToken(), expiresAt: new Date(idToken.getExpiration() * 1000).toISOString() };
}

/** The library's errors carry Cognito's exception name in `code`; a failed fetch is its "Network error". */
function loginError(err: unknown): Error {
  if (err instanceof NewPasswordRequiredError || err instanceof MfaCodeRequiredError || err instanceof UnsupportedChallengeError) return err;
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' && e.message ? e.message : code;
  return new CognitoLoginError(message.replace(/\.$/, ''), code);
}

/** What the library caches during one login (the SRP session, then the tokens), in memory only. */
class MemoryStorage implements ICognitoStorage {
  private readonly items = new Map<string, string>();
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  clear(): void {
    this.items.clear();
  }
}

function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The user pool attributes that carry a clearance: `SECRET` and `MEDICAL,FINANCE`. */
export const CLEARANCE_CLAIM = 'custom:clearance';
export const COMPARTMENTS_CLAIM = 'custom:compartments';

/** Clearance as stored in the user pool: the level and the comma-separated compartments (empty for none). */
export function clearanceAttributes(clearance: Label): { [CLEARANCE_CLAIM]: string; [COMPARTMENTS_CLAIM]: string } {
  return { [CLEARANCE_CLAIM]: clearance.level, [COMPARTMENTS_CLAIM]: clearance.compartments.join(',') };
}

/**
 * The user's clearance from verified token claims (DESIGN §2, fail closed): a missing or unknown level, a
 * malformed or unknown compartment is an error, never a default. An absent or empty `custom:compartments`
 * means no compartments, which can only narrow what the user may read. For a user the topology lists, the
 * token may not claim more than the topology grants: a user who rewrote their own attributes gains nothing.
 */
export function clearanceFromClaims(claims: Record<string, unknown>, topology: Topology): Label {
  const level = claims[CLEARANCE_CLAIM];
  if (typeof level !== 'string' || level.length === 0) {
    throw new SecurityError('NOT_AUTHORIZED', `the identity token carries no ${CLEARANCE_CLAIM}`);
  }
  const compartmentsClaim = claims[COMPARTMENTS_CLAIM] ?? '';
  if (typeof compartmentsClaim !== 'string') throw new SecurityError('SCHEMA', `${COMPARTMENTS_CLAIM} must be a string`);
  const compartments = compartmentsClaim.split(',').map((c) => c.trim()).filter((c) => c.length > 0);
  const clearance = parseLabel({ level, compartments }, topology.compartments);
  const username = claims['cognito:username'];
  const listed = topology.users.find((u) => u.username === username);
  if (listed && !dominates(listed.clearance, clearance)) {
    throw new SecurityError(
      'NOT_AUTHORIZED',
      `${String(username)} claims ${formatLabel(clearance)} but is cleared for ${formatLabel(listed.clearance)}`,
    );
  }
  return clearance;
}
