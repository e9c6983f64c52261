import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ApiRequestError } from '../../cli/api-client';
import { Emulator, freePort, startEmulator } from '../../localstack/emulator';
import { FaultCloud, outcomeOf, topologyWith } from '../faults/support';

/**
 * The emulator dies, then comes back empty (moto keeps its state in memory). Nothing may hang: the API answers
 * 5xx within seconds, the CLI says so in one line, and the event sources count their failed polls and report
 * the outage — and then the lost queues — clearly, never silently and never a line per poll.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const topology = topologyWith({ visibilityTimeoutSeconds: 4 });
const UNCLASSIFIED = { level: 'UNCLASSIFIED', compartments: [] };
/** The most an answer may take while the emulator is gone (the SDK's retries included). */
const BOUNDED_MS = 15_000;

let port: number;
let moto: Emulator;
let cloud: FaultCloud;
let stateDir: string;
let sharedEndpoint: string | undefined;
let commandId: string;

/** Starts moto on `port` for this suite alone (not the run's shared emulator). */
async function ownEmulator(): Promise<Emulator> {
  const endpoint = process.env.AGENTSEC_AWS_ENDPOINT;
  delete process.env.AGENTSEC_AWS_ENDPOINT; // else startEmulator attaches to that endpoint instead of starting one
  try {
    return await startEmulator({ port });
  } finally {
    if (endpoint !== undefined) process.env.AGENTSEC_AWS_ENDPOINT = endpoint;
  }
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const env = { ...process.env, AGENTSEC_STATE_DIR: stateDir, AGENTSEC_AWS_ENDPOINT: moto.endpoint };
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin', 'agentsec.js'), ...args], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

async function timed<T>(p: Promise<T>): Promise<{ result?: T; error?: unknown; ms: number }> {
  const started = Date.now();
  try {
    return { result: await p, ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  sharedEndpoint = process.env.AGENTSEC_AWS_ENDPOINT;
  port = await freePort();
  moto = await ownEmulator();
  process.env.AGENTSEC_AWS_ENDPOINT = moto.endpoint;
  stateDir = mkdtempSync(path.join(tmpdir(), 'agentsec-restart-'));
  cloud = await FaultCloud.start({ topology, stateFile: path.join(stateDir, 'local.json') });
});
afterAll(async () => {
  await cloud?.stop();
  await moto?.stop();
  if (sharedEndpoint === undefined) delete process.env.AGENTSEC_AWS_ENDPOINT;
  else process.env.AGENTSEC_AWS_ENDPOINT = sharedEndpoint;
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

it('before the outage a command completes and the CLI can log in', async () => {
  commandId = await cloud.submit('alice', { text: 'What are the visiting hours?', classification: UNCLASSIFIED });
  expect((await outcomeOf(cloud, new Map([[commandId, 'alice']]), 20_000)).statuses[commandId]).toBe('completed');
  expect((await cli(['login', '--user', 'alice', '--json'])).code).toBe(0);
});

describe('the emulator is killed', () => {
  beforeAll(async () => {
    await moto.stop();
  });

  it('the API answers 503 (service unavailable, retry later) within seconds, for a new command and for a status', async () => {
    const alice = await cloud.as('alice');
    for (const call of [() => alice.submit({ text: 'Anyone there?', classification: UNCLASSIFIED }), () => alice.command(commandId)]) {
      const { error, ms } = await timed(call());
      console.log(`emulator down: the API answered ${(error as ApiRequestError).status} in ${ms} ms`);
      expect(error).toBeInstanceOf(ApiRequestError);
      expect((error as ApiRequestError).status).toBe(503);
      expect(ms).toBeLessThan(BOUNDED_MS);
    }
  });

  it('`agentsec status` fails in one line with a non-zero exit code, within seconds', async () => {
    const run = await cli(['status', commandId, '--user', 'alice']);
    console.log(`emulator down: agentsec status exited ${run.code} in ${run.ms} ms: ${run.stderr.trim()}`);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.ms).toBeLessThan(BOUNDED_MS + 5_000);
  });

  it('every event source counts its failed polls and reports the outage once, clearly, not a line per poll', async () => {
    await until('every agent reports the outage', () => Object.values(cloud.cloud.health()).every((h) => !h.receiving && h.failedPolls >= 2));
    const health = cloud.cloud.health();
    for (const [agent, h] of Object.entries(health)) {
      expect(h.problem).toContain('is the AWS emulator running?');
      expect(h.pollErrors).toBeGreaterThanOrEqual(2);
      // Each agent has two queues (its own and its failed queue), each with its own event source: this is its own.
      const queue = cloud.cloud.state.queues[agent].split('/').pop();
      const lines = cloud.logs.filter((l) => l.startsWith(`[${agent}] cannot receive from queue ${queue},`) || l.startsWith(`[${agent}] still cannot receive from queue ${queue} `));
      expect(lines.length).toBeGreaterThanOrEqual(1);
      expect(lines.length).toBeLessThan(h.failedPolls);
    }
    console.log(`emulator down: ${cloud.logs.find((l) => l.includes('cannot receive'))}`);
  });
});

describe('the emulator comes back empty', () => {
  beforeAll(async () => {
    moto = await ownEmulator();
  });

  it('the event sources report that their queues are gone', async () => {
    await until('every agent reports a lost queue', () => Object.values(cloud.cloud.health()).every((h) => h.problem?.includes('does not exist') === true));
    console.log(`emulator empty: ${cloud.logs.filter((l) => l.includes('does not exist'))[0]}`);
  });

  it('the API answers 503 (service unavailable, retry later) within seconds, and the CLI fails in one line', async () => {
    const { error, ms } = await timed((await cloud.as('alice')).command(commandId));
    expect((error as ApiRequestError).status).toBe(503);
    expect(ms).toBeLessThan(BOUNDED_MS);
    const run = await cli(['status', commandId, '--user', 'alice']);
    console.log(`emulator empty: the API answered ${(error as ApiRequestError).status} in ${ms} ms; agentsec status exited ${run.code} in ${run.ms} ms: ${run.stderr.trim()}`);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('service unavailable');
  });
});
