import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadTopology } from '../functions/kernel/topology/topology';
import { login } from '../localstack/cognito';
import { LocalResources, readLocalState } from '../localstack/local-state';
import { ApiClient } from './api-client';
import { CliError, EXIT, notRunning } from './errors';
import { localStateFile, tokenFile } from '../localstack/state-files';

/**
 * What every command but `dev` and `demo` starts from: the running cloud's state file, a user, and that
 * user's identity token (cached per user, mode 0600, and renewed through Cognito when it has expired).
 */

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

/** A cached token, as `login --json` prints it plus the pool it belongs to. */
export interface SessionToken {
  username: string;
  token: string;
  expiresAt: string;
  userPoolId: string;
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
  writePrivate(tokenFile(username), `${JSON.stringify(session, null, 2)}\n`);
  return session;
}

/** Tokens are renewed a minute before they expire, so a command never starts with one about to lapse. */
const RENEW_BEFORE_MS = 60_000;

/** The cached token of `username` when it is for this user pool and still good; else a fresh login. */
export async function sessionFor(state: LocalResources, username: string): Promise<SessionToken> {
  const file = tokenFile(username);
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as SessionToken;
    if (cached.userPoolId === state.userPoolId && Date.parse(cached.expiresAt) - RENEW_BEFORE_MS > Date.now() && cached.token) return cached;
  } catch {
    /* no usable cache: log in */
  }
  return logIn(state, username);
}

/** An API client acting as `username`, after checking the cloud is up; a rejected token is renewed once. */
export async function connect(options: { user?: string; role?: 'user' | 'approver' } = {}): Promise<{ state: LocalResources; api: ApiClient; username: string }> {
  const state = loadState();
  await assertRunning(state);
  const username = chooseUser(state, options.user, options.role);
  const session = await sessionFor(state, username);
  const api = new ApiClient(state.apiUrl, session.token, async () => {
    rmSync(tokenFile(username), { force: true });
    return (await logIn(state, username)).token;
  });
  return { state, api, username };
}

/** Writes a file only its owner can read, atomically (the token is a bearer credential). */
function writePrivate(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600); // the mode option is filtered by the umask
  renameSync(tmp, file);
}

function isConnectionRefused(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string }; message?: string };
  return e?.code === 'ECONNREFUSED' || e?.cause?.code === 'ECONNREFUSED' || /ECONNREFUSED|fetch failed/.test(e?.message ?? '');
}
