import {
  AuthFlowType,
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { awsClientConfig } from '../functions/platform/aws-clients';
import { SecurityError } from '../functions/kernel/errors';
import { dominates, formatLabel, Label, parseLabel } from '../functions/kernel/labels';
import type { Topology } from '../functions/kernel/topology/topology';

/**
 * Users and their identity tokens: logging in through Cognito (USER_PASSWORD_AUTH), verifying the ID token
 * the way the HTTP API's JWT authorizer does, and reading the user's clearance from it (DESIGN §2, §8).
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
