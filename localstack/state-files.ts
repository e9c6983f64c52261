import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { STATE_DIR } from './emulator';

/**
 * Where the local cloud and the CLI keep their files: `.agentsec/` at the project root, or the directory
 * `AGENTSEC_STATE_DIR` names (tests use their own, so they never touch a developer's running cloud).
 */
export function stateDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env.AGENTSEC_STATE_DIR ? path.resolve(env.AGENTSEC_STATE_DIR) : STATE_DIR;
}

/** `.agentsec/local.json`: what `agentsec dev` created (DESIGN §10). */
export function localStateFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDirectory(env), 'local.json');
}

/** A user name that is safe as a file name (the topology's user name rule). */
const USERNAME = /^[a-z][a-z0-9._-]{1,63}$/;

/** A profile name that is safe as a file and directory name. */
export const PROFILE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** `.agentsec/tokens/<user>.json`: the user's cached identity token on the local cloud. */
export function tokenFile(username: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDirectory(env), 'tokens', `${safeUsername(username)}.json`);
}

/** `.agentsec/tokens/<profile>/<user>.json`: the user's cached identity token on a deployed stack's profile. */
export function profileTokenFile(profile: string, username: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(profileTokenDirectory(profile, env), `${safeUsername(username)}.json`);
}

/** `.agentsec/tokens/<profile>/`: the tokens cached for one profile, one file per user. */
export function profileTokenDirectory(profile: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDirectory(env), 'tokens', safeProfile(profile));
}

/** `.agentsec/profiles/`: one file per deployed stack the CLI can talk to. */
export function profilesDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDirectory(env), 'profiles');
}

/** `.agentsec/profiles/<name>.json`: what `agentsec use` read from a deployed stack's outputs. */
export function profileFile(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(profilesDirectory(env), `${safeProfile(name)}.json`);
}

/** `.agentsec/current-profile`: the profile `agentsec use` chose; absent means the local cloud. */
export function currentProfileFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDirectory(env), 'current-profile');
}

/**
 * Writes a file only its owner can read, atomically (a token is a bearer credential), in directories only its owner
 * can enter.
 */
export function writePrivateFile(file: string, text: string): void {
  const dir = path.dirname(file);
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The mode option goes through the umask; directories that already existed are left as they are.
  for (let d = dir; created !== undefined && d.length >= created.length; d = path.dirname(d)) chmodSync(d, 0o700);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600); // the mode option is filtered by the umask and ignored for an existing file
  renameSync(tmp, file);
}

function safeUsername(username: string): string {
  if (!USERNAME.test(username)) throw new Error(`"${username}" is not a valid user name`);
  return username;
}

function safeProfile(name: string): string {
  if (!PROFILE_NAME.test(name)) throw new Error(`"${name}" is not a valid profile name: lower-case letters, digits, ".", "_" and "-"`);
  return name;
}
