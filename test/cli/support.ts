import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import { emulatorEndpoint } from '../support/aws';

/** Runs `bin/agentsec.js` the way a user does: a separate node process, with its own state directory. */

export const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'agentsec.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a CLI process: the test's emulator and state directory, nothing of the developer's. */
export function cliEnv(stateDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AGENTSEC_STATE_DIR: stateDir, AGENTSEC_AWS_ENDPOINT: emulatorEndpoint() };
  // A developer's chosen profile or password must not send a test's commands to a deployed stack.
  delete env.AGENTSEC_PROFILE;
  delete env.AGENTSEC_PASSWORD;
  return env;
}

/** `env` adds to (or, with `undefined`, removes from) the CLI process's environment. */
export function agentsec(stateDir: string, args: readonly string[], timeoutMs = 120_000, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const environment = Object.fromEntries(Object.entries({ ...cliEnv(stateDir), ...env }).filter(([, v]) => v !== undefined));
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: environment, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `agentsec dev --json` in the background; resolves once it reports that it is running. */
export async function startDev(stateDir: string, prefix: string, timeoutMs = 90_000): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [BIN, 'dev', '--json', '--prefix', prefix], { cwd: ROOT, env: cliEnv(stateDir), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agentsec dev did not start within ${timeoutMs} ms:\n${err}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"status":"running"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agentsec dev exited with ${code}:\n${err}`));
    });
  });
  return { child, output: () => out };
}

/** Sends `signal` and resolves with the exit code (null when it had to be killed). */
export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill(signal);
  });
}

/** The one JSON document a `--json` command printed. */
export function json<T = unknown>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}
