import type { ConsoleConfig } from './config';

/**
 * Who is signed in: the Cognito ID token (the API's bearer token), kept in this tab's sessionStorage only, so it ends
 * with the tab and is never shared with another tab or written to disk by the console.
 */
export interface Session {
  readonly username: string;
  readonly idToken: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

const KEY = 'agentsec.session';

export class SignInError extends Error {}

/** The session of this tab, or undefined when there is none or it has expired. */
export function currentSession(now = Date.now()): Session | undefined {
  let session: Session;
  try {
    session = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session;
  } catch {
    return undefined;
  }
  if (!session || typeof session.idToken !== 'string' || typeof session.username !== 'string') return undefined;
  return session.expiresAt > now ? session : undefined;
}

/** Forgets the session: everything the console keeps in this tab's storage. */
export function endSession(): void {
  sessionStorage.clear();
}

/**
 * Signs in with Cognito's `InitiateAuth` (USER_PASSWORD_AUTH), posted from the browser as the AWS SDK would post it.
 * The password goes to Cognito only.
 */
export async function signIn(config: ConsoleConfig, username: string, password: string): Promise<Session> {
  let res: Response;
  try {
    res = await fetch(config.cognitoEndpoint, {
      method: 'POST',
      credentials: 'omit',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSCognitoIdentityProviderService.InitiateAuth' },
      body: JSON.stringify({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: config.userPoolClientId, AuthParameters: { USERNAME: username, PASSWORD: password } }),
    });
  } catch {
    throw new SignInError(`Cognito (${config.cognitoEndpoint}) did not answer.`);
  }
  const body = (await res.json().catch(() => ({}))) as CognitoAnswer;
  if (!res.ok) throw new SignInError(body.message ?? body.Message ?? `Cognito refused the sign-in (${res.status}).`);
  if (body.ChallengeName) throw new SignInError(`Cognito asks for ${body.ChallengeName}, which the console does not handle; complete it with the AWS CLI first.`);
  const idToken = body.AuthenticationResult?.IdToken;
  if (!idToken) throw new SignInError('Cognito answered without an ID token.');
  const claims = tokenClaims(idToken);
  const session: Session = {
    username: typeof claims['cognito:username'] === 'string' ? claims['cognito:username'] : username,
    idToken,
    expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : Date.now() + (body.AuthenticationResult?.ExpiresIn ?? 3600) * 1000,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

interface CognitoAnswer {
  message?: string;
  Message?: string;
  ChallengeName?: string;
  AuthenticationResult?: { IdToken?: string; ExpiresIn?: number };
}

/** The claims of a JWT, read without checking it: only to show who is signed in. The API checks the token. */
export function tokenClaims(jwt: string): Record<string, unknown> {
  try {
    const payload = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, '=')), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return {};
  }
}
