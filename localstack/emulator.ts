import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, openSync, closeSync, rmSync, statSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/**
 * The AWS-compatible emulator for one machine. With `AGENTSEC_AWS_ENDPOINT` set, that endpoint is used as it
 * is (LocalStack, a shared moto, anything AWS-compatible). Otherwise moto server runs from a project-local
 * virtual environment, created on first use and reused after, on a free port of `localhost` (moto's
 * CloudFormation resolves its own S3 URLs by host name, so `127.0.0.1` would break it).
 */

export const MOTO_VERSION = '5.2.1';
export const PROJECT_ROOT = path.resolve(__dirname, '..');
export const STATE_DIR = path.join(PROJECT_ROOT, '.agentsec');

/**
 * Where moto server is installed: `AGENTSEC_VENV_DIR`, else `venv/` in the state directory (`AGENTSEC_STATE_DIR`,
 * else `.agentsec/`), so a project checked out read-only gets nothing written into it.
 */
export function venvDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AGENTSEC_VENV_DIR) return path.resolve(env.AGENTSEC_VENV_DIR);
  return path.join(env.AGENTSEC_STATE_DIR ? path.resolve(env.AGENTSEC_STATE_DIR) : STATE_DIR, 'venv');
}

export interface Emulator {
  /** Base URL of the emulator, e.g. `http://localhost:45123`. */
  readonly endpoint: string;
  /** True when this process started the emulator (and will stop it). */
  readonly owned: boolean;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Port to listen on; a free one when omitted. */
  port?: number;
  /** Progress lines (installing, starting). */
  log?: (line: string) => void;
  /** Milliseconds to wait for the emulator to answer (its first start compiles Python). @default 120000 */
  readyTimeoutMs?: number;
}

/** Installs moto server into {@link venvDirectory} unless the pinned version is already there. Idempotent. */
export function ensureMotoInstalled(log: (line: string) => void = () => undefined): string {
  const VENV_DIR = venvDirectory();
  const MARKER = path.join(VENV_DIR, `.moto-${MOTO_VERSION}`);
  const bin = path.join(VENV_DIR, 'bin', 'moto_server');
  if (existsSync(MARKER) && existsSync(bin)) return bin;
  mkdirSync(path.dirname(VENV_DIR), { recursive: true });
  const lock = `${VENV_DIR}.lock`;
  const fd = acquireLock(lock);
  try {
    if (existsSync(MARKER) && existsSync(bin)) return bin;
    const python = process.env.AGENTSEC_PYTHON ?? 'python3';
    log(`installing moto[server]==${MOTO_VERSION} into ${path.relative(process.cwd(), VENV_DIR) || VENV_DIR} (first run only)`);
    run(python, ['-m', 'venv', VENV_DIR]);
    run(path.join(VENV_DIR, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `moto[server]==${MOTO_VERSION}`]);
    writeFileSync(MARKER, `${new Date().toISOString()}\n`);
    return bin;
  } finally {
    closeSync(fd);
    rmSync(lock, { force: true });
  }
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new Error(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

function acquireLock(lock: string): number {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      return openSync(lock, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock older than the install can take is left by a killed process.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 10 * 60_000) rmSync(lock, { force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
}

/** A free TCP port on localhost. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, 'localhost', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves when `endpoint` answers HTTP, or rejects after `timeoutMs`. */
export async function waitForEndpoint(endpoint: string, timeoutMs = 30_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`emulator exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return; // any HTTP answer means the server is up (LocalStack answers 404 here)
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`the AWS emulator at ${endpoint} did not answer within ${timeoutMs} ms: ${String(last)}`);
}

/** Starts (or attaches to) the emulator. Call `stop()` when done; it only stops what it started. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const log = options.log ?? (() => undefined);
  const external = process.env.AGENTSEC_AWS_ENDPOINT;
  if (external) {
    await waitForEndpoint(external, options.readyTimeoutMs ?? 30_000);
    return { endpoint: external.replace(/\/$/, ''), owned: false, stop: async () => undefined };
  }
  const bin = ensureMotoInstalled(log);
  const port = options.port ?? (await freePort());
  const endpoint = `http://localhost:${port}`;
  log(`starting moto server ${MOTO_VERSION} on ${endpoint}`);
  const logFile = path.join(path.dirname(venvDirectory()), `moto-${port}.log`);
  const out = openSync(logFile, 'a');
  const child = spawn(bin, ['-H', 'localhost', '-p', String(port)], {
    stdio: ['ignore', out, out],
    detached: true,
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'true' },
  });
  closeSync(out);
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
  };
  process.once('exit', kill);
  try {
    await waitForEndpoint(endpoint, options.readyTimeoutMs ?? 120_000, child);
  } catch (err) {
    kill();
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
    throw new Error(`${(err as Error).message}\n${tail}`);
  }
  return {
    endpoint,
    owned: true,
    stop: async () => {
      process.removeListener('exit', kill);
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      kill();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      rmSync(logFile, { force: true });
    },
  };
}
