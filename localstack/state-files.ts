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

/** `.agentsec/tokens/<user>.json`: the user's cached identity token. */
export function tokenFile(username: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!USERNAME.test(username)) throw new Error(`"${username}" is not a valid user name`);
  return path.join(stateDirectory(env), 'tokens', `${username}.json`);
}
