import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { loadTopology } from '../functions/kernel/topology/topology';
import { awsClientConfig } from '../functions/platform/aws-clients';
import { CognitoLoginError, login, loginWithSrp, MfaCodeRequiredError, NewPasswordRequiredError, UnsupportedChallengeError } from '../localstack/cognito';
import { LocalResources, readLocalState } from '../localstack/local-state';
import { localStateFile, profileTokenDirectory, profileTokenFile, tokenFile, writePrivateFile } from '../localstack/state-files';
import { ApiClient } from './api-client';
import { CliError, EXIT, notRunning } from './errors';
import { defaultProfile, LOCAL, Profile, readProfile } from './profiles';

/**
 * What every command but `dev` and `demo` starts from: where it goes (the local cloud, or a deployed stack's profile),
 * a user, and that user's identity token, cached per user (mode 0600). On the local cloud a lapsed token is renewed
 * with the seeded password; on a stack there is no password to renew it with, so the user logs in again.
 */

/** Where a command goes: the local cloud `agentsec dev` runs, or a deployed stack through its profile. */
export type Target =
  | { readonly kind: 'local'; readonly name: typeof LOCAL; readonly state: LocalResources; readonly apiUrl: string; readonly consoleUrl?: string }
  | { readonly kind: 'stack'; readonly name: string; readonly profile: Profile; readonly apiUrl: string; readonly consoleUrl?: string };

/** The target `--profile` names, else the default one (`AGENTSEC_PROFILE`, then `agentsec use`, then the local cloud). */
export function resolveTarget(profile?: string): Target {
  const name = profile ?? defaultProfile().name;
  if (name === LOCAL) {
    const state = loadState();
    return { kind: 'local', name: LOCAL, state, apiUrl: state.apiUrl, consoleUrl: state.consoleUrl };
  }
  const found = readProfile(name);
  return { kind: 'stack', name, profile: found, apiUrl: found.apiUrl, ...(found.consoleUrl ? { consoleUrl: found.consoleUrl } : {}) };
}

/** The state `agentsec dev` wrote; a clear error (exit 2) when there is none. */
export function loadState(): LocalResources {
  const file = localStateFile();
  if (!existsSync(file)) throw notRunning(`${file} does not exist`);
  try {
    return readLocalState(file);
  } catch {
    throw new CliError(`${file} is not a valid local cloud state; restart \`agentsec dev\``, EXIT.notRunning);
  }
}

/** Any HTTP answer from the API's URL means the cloud is up. */
export async function assertRunning(state: LocalResources): Promise<void> {
  try {
    const res = await fetch(state.apiUrl, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
  } catch {
    throw notRunning(`nothing answers at ${state.apiUrl}`);
  }
}

/** The user a command runs as: the one named, else the first seeded user (or, for approvals, the first approver). */
export function chooseUser(state: LocalResources, named: string | undefined, role: 'user' | 'approver' = 'user'): string {
  if (named) return named;
  const approvers = loadTopology().approvers;
  const seeded = state.users.map((u) => u.username);
  const pick = role === 'approver' ? seeded.find((u) => approvers.has(u)) : seeded[0];
  if (!pick) throw new CliError(`the local cloud has no ${role === 'approver' ? 'approver' : 'user'}; pass --user`);
  return pick;
}

/**
 * The user a command runs as on a stack: the one named, else whoever logged in to it last (for approvals, the last
 * approver). A stack has no seeded users to fall back on.
 */
export function chooseStackUser(profile: string, named: string | undefined, role: 'user' | 'approver' = 'user'): string {
  if (named) return named;
  const approvers = loadTopology().approvers;
  const pick = loggedInUsers(profile).find((u) => role === 'user' || approvers.has(u));
  if (!pick) {
    const who = role === 'approver' ? 'approver' : 'user';
    throw new CliError(`no ${who} is logged in to profile ${profile}; log in with \`agentsec login --profile ${profile} --user <${who}>\``);
  }
  return pick;
}

/** The users with a token cached for a profile, the latest login first. */
function loggedInUsers(profile: string): string[] {
  const dir = profileTokenDirectory(profile);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^[a-z][a-z0-9._-]{1,63}\.json$/.test(f))
    .map((f) => ({ user: f.slice(0, -'.json'.length), at: statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => b.at - a.at)
    .map((u) => u.user);
}

/** A cached token, as `login --json` prints it plus the pool it belongs to. */
export interface SessionToken {
  username: string;
  token: string;
  expiresAt: string;
  userPoolId: string;
}

/** What a login to a stack may be asked for beyond the password (it comes from options, the environment or a prompt). */
export interface StackCredentials {
  readonly password: string;
  /** Asked when Cognito wants a new password (NEW_PASSWORD_REQUIRED). */
  readonly newPassword?: () => Promise<string>;
  /** Asked when the user has an authenticator app (SOFTWARE_TOKEN_MFA). */
  readonly mfaCode?: () => Promise<string>;
}

/** Logs `username` in through Cognito (USER_PASSWORD_AUTH) and caches the token. The password defaults to the seeded one. */
export async function logIn(state: LocalResources, username: string, password?: string): Promise<SessionToken> {
  const secret = password ?? state.users.find((u) => u.username === username)?.password;
  if (!secret) throw new CliError(`${username} is not a seeded user of this local cloud; pass --password`);
  let result;
  try {
    result = await login({ endpoint: state.endpoint, region: state.region, userPoolClientId: state.userPoolClientId, username, password: secret });
  } catch (err) {
    if (isConnectionRefused(err)) throw notRunning(`the emulator at ${state.endpoint} does not answer`);
    throw new CliError(`login of ${username} failed: ${(err as Error).message}`);
  }
  const session: SessionToken = { username, token: result.token, expiresAt: result.expiresAt, userPoolId: state.userPoolId };
  writePrivateFile(tokenFile(username), `${JSON.stringify(session, null, 2)}\n`);
  return session;
}

/**
 * Logs `username` in to a deployed stack with SRP (the password is proved, never sent) and caches the token in
 * `.agentsec/tokens/<profile>/<user>.json`. Cognito is reached at `AGENTSEC_AWS_ENDPOINT` when it is set (an emulator),
 * else at the pool's region.
 */
export async function logInToStack(profile: Profile, username: string, credentials: StackCredentials): Promise<SessionToken> {
  const file = profileTokenFile(profile.name, username); // checks the user name before anything is sent
  const endpoint = awsClientConfig({ region: profile.region }).endpoint;
  let result;
  try {
    result = await loginWithSrp({
      ...(endpoint && { endpoint }),
      userPoolId: profile.userPoolId,
      userPoolClientId: profile.userPoolClientId,
      username,
      ...credentials,
    });
  } catch (err) {
    throw stackLoginFailure(err, profile, username, endpoint);
  }
  const session: SessionToken = { username, token: result.token, expiresAt: result.expiresAt, userPoolId: profile.userPoolId };
  writePrivateFile(file, `${JSON.stringify(session, null, 2)}\n`);
  return session;
}

/** A failed login to a stack as one sentence that says what to do. */
function stackLoginFailure(err: unknown, profile: Profile, username: string, endpoint: string | undefined): CliError {
  const again = `agentsec login --profile ${profile.name} --user ${username}`;
  if (err instanceof NewPasswordRequiredError) {
    return new CliError(`Cognito asks ${username} to choose a new password on profile ${profile.name}: run \`${again}\` in a terminal, or pass --new-password`);
  }
  if (err instanceof MfaCodeRequiredError) {
    return new CliError(`Cognito asks ${username} for the code from the authenticator app on profile ${profile.name}: run \`${again}\` in a terminal, or pass --mfa-code`);
  }
  if (err instanceof UnsupportedChallengeError) return new CliError(`login of ${username} to profile ${profile.name} stopped: ${err.message}`);
  if (err instanceof CognitoLoginError && err.code === 'NetworkError') {
    return new CliError(`cannot reach Cognito for profile ${profile.name} at ${endpoint ?? `cognito-idp.${profile.region}.amazonaws.com`}`);
  }
  if (err instanceof CliError) return err;
  // Cognito's own words when they say it ("Incorrect username or password"), else its exception name too.
  const said = err instanceof CognitoLoginError && err.code !== 'NotAuthorizedException' && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : (err as Error).message;
  return new CliError(`login of ${username} to profile ${profile.name} failed: ${said}`);
}

/** Tokens are renewed a minute before they expire, so a command never starts with one about to lapse. */
const RENEW_BEFORE_MS = 60_000;

/** The cached token of `username` when it is for this user pool and still good; else a fresh login. */
export async function sessionFor(state: LocalResources, username: string): Promise<SessionToken> {
  const cached = readCachedSession(tokenFile(username));
  if (cached && cached.userPoolId === state.userPoolId && isFresh(cached)) return cached;
  return logIn(state, username);
}

/** The cached token of `username` on a stack; when there is none or it has lapsed, one sentence: log in again. */
export function stackSessionFor(profile: Profile, username: string): SessionToken {
  const cached = readCachedSession(profileTokenFile(profile.name, username));
  if (cached && cached.userPoolId === profile.userPoolId && isFresh(cached)) return cached;
  throw loginAgain(profile, username, cached && cached.userPoolId === profile.userPoolId ? `'s login expired at ${cached.expiresAt}` : ' is not logged in');
}

function loginAgain(profile: Profile, username: string, what: string): CliError {
  return new CliError(`${username}${what} on profile ${profile.name}; log in with \`agentsec login --profile ${profile.name} --user ${username}\``);
}

function readCachedSession(file: string): SessionToken | undefined {
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as SessionToken;
    return typeof cached.token === 'string' && cached.token && typeof cached.expiresAt === 'string' ? cached : undefined;
  } catch {
    return undefined; // no usable cache
  }
}

const isFresh = (session: SessionToken) => Date.parse(session.expiresAt) - RENEW_BEFORE_MS > Date.now();

/** What a command talks to the API with: where it goes, as whom, and the console to send approvers to. */
export interface Connection {
  readonly target: Target;
  readonly api: ApiClient;
  readonly username: string;
  readonly consoleUrl?: string;
}

/**
 * An API client acting as `username` on the target `profile` names. On the local cloud it checks the cloud is up and
 * renews a rejected token once; on a stack a rejected token means logging in again.
 */
export async function connect(options: { user?: string; role?: 'user' | 'approver'; profile?: string } = {}): Promise<Connection> {
  const target = resolveTarget(options.profile);
  if (target.kind === 'local') {
    const { state } = target;
    await assertRunning(state);
    const username = chooseUser(state, options.user, options.role);
    const session = await sessionFor(state, username);
    const api = new ApiClient(state.apiUrl, session.token, async () => {
      rmSync(tokenFile(username), { force: true });
      return (await logIn(state, username)).token;
    });
    return { target, api, username, consoleUrl: target.consoleUrl };
  }
  const { profile } = target;
  const username = chooseStackUser(profile.name, options.user, options.role);
  const session = stackSessionFor(profile, username);
  const api = new ApiClient(
    profile.apiUrl,
    session.token,
    async () => {
      throw loginAgain(profile, username, "'s token was refused by the API");
    },
    profile.name,
  );
  return { target, api, username, ...(target.consoleUrl ? { consoleUrl: target.consoleUrl } : {}) };
}

function isConnectionRefused(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string }; message?: string };
  return e?.code === 'ECONNREFUSED' || e?.cause?.code === 'ECONNREFUSED' || /ECONNREFUSED|fetch failed/.test(e?.message ?? '');
}
