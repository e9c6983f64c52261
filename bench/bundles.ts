import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { median } from './stats';

/**
 * The Lambda bundles exactly as `cdk synth` builds them (esbuild through NodejsFunction), into a temporary
 * output directory so the project's cdk.out is left alone: their size, and their cold load time in fresh
 * Node.js processes with the function's own NODE_OPTIONS.
 */

export interface BundleMeasurement {
  /** The functions deployed from this bundle, by construct id (e.g. `Agentanalyst`, `Api`). */
  readonly name: string;
  readonly functions: readonly string[];
  readonly asset: string;
  /** `index.js` as deployed. */
  readonly bundleBytes: number;
  /** `index.js.map`, deployed next to it for `--enable-source-maps`. */
  readonly sourceMapBytes: number;
  /** Median wall time of `require(index.js)` in fresh processes. */
  readonly coldInitMs: number;
  /** Median CPU time (user + system) of the same loads: less sensitive to other load on the machine. */
  readonly coldInitCpuMs: number;
  readonly samplesMs: readonly number[];
}

export interface LambdaFunctionAsset {
  readonly logicalId: string;
  readonly asset: string;
  readonly nodeOptions: string;
}

/** The Lambda functions of a synthesized template and the asset directory each is deployed from. */
export function lambdaAssets(template: { Resources?: Record<string, { Type?: string; Metadata?: Record<string, unknown>; Properties?: Record<string, unknown> }> }): LambdaFunctionAsset[] {
  return Object.entries(template.Resources ?? {}).flatMap(([logicalId, r]) => {
    const asset = r.Metadata?.['aws:asset:path'];
    if (r.Type !== 'AWS::Lambda::Function' || typeof asset !== 'string') return [];
    // Only the project's Node functions: CDK's own (the console upload runs on Python) are not ours to measure.
    const runtime = r.Properties?.Runtime;
    if (typeof runtime === 'string' && !runtime.startsWith('nodejs')) return [];
    const env = (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    return [{ logicalId, asset, nodeOptions: typeof env.NODE_OPTIONS === 'string' ? env.NODE_OPTIONS : '' }];
  });
}

/** `AgentanalystHandlerFunction9D39B033` → `Agentanalyst`: the construct's id, without the handler's suffix. */
export function functionName(logicalId: string): string {
  return logicalId.replace(/HandlerFunction[0-9A-F]{8}$/, '').replace(/[0-9A-F]{8}$/, '');
}

/** Runs `cdk synth` into a fresh temporary directory; returns it (the caller removes it). */
export async function synthesize(projectRoot: string, timeoutMs: number): Promise<string> {
  const out = mkdtempSync(path.join(tmpdir(), 'agentsec-bench-synth-'));
  const cdk = path.join(projectRoot, 'node_modules', '.bin', 'cdk');
  const { code, stderr } = await run(cdk, ['synth', '--quiet', '--no-notices', '--output', out], { cwd: projectRoot, timeoutMs });
  if (code !== 0 || !existsSync(path.join(out, 'AgentSec.template.json'))) {
    rmSync(out, { recursive: true, force: true });
    throw new Error(`cdk synth failed (exit ${code}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  }
  return out;
}

/** Sizes and cold load times of every bundle in a synthesized output directory. */
export async function measureBundles(outDir: string, loads: number, progress: (line: string) => void): Promise<BundleMeasurement[]> {
  const template = JSON.parse(readFileSync(path.join(outDir, 'AgentSec.template.json'), 'utf8'));
  const byAsset = new Map<string, LambdaFunctionAsset[]>();
  for (const fn of lambdaAssets(template)) byAsset.set(fn.asset, [...(byAsset.get(fn.asset) ?? []), fn]);
  const results: BundleMeasurement[] = [];
  for (const [asset, fns] of byAsset) {
    const file = path.join(outDir, asset, 'index.js');
    const map = `${file}.map`;
    const samples: { ms: number; cpuMs: number }[] = [];
    for (let i = 0; i < loads; i++) samples.push(await coldLoad(file, fns[0].nodeOptions));
    const name = fns.map((f) => functionName(f.logicalId)).join('+');
    const measurement: BundleMeasurement = {
      name,
      functions: fns.map((f) => f.logicalId),
      asset,
      bundleBytes: statSync(file).size,
      sourceMapBytes: existsSync(map) ? statSync(map).size : 0,
      coldInitMs: median(samples.map((s) => s.ms)),
      coldInitCpuMs: median(samples.map((s) => s.cpuMs)),
      samplesMs: samples.map((s) => s.ms),
    };
    progress(`  ${name}: ${measurement.bundleBytes} bytes, cold load ${measurement.coldInitMs.toFixed(0)} ms (cpu ${measurement.coldInitCpuMs.toFixed(0)} ms)`);
    results.push(measurement);
  }
  return results;
}

/** Script run by each fresh process: the bundle's load time, as the Lambda runtime loads the handler module. */
const LOAD_SCRIPT = `
const start = process.hrtime.bigint();
const cpu = process.cpuUsage();
require(process.argv[1]);
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ ms: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: (used.user + used.system) / 1000 }));
`;

async function coldLoad(file: string, nodeOptions: string): Promise<{ ms: number; cpuMs: number }> {
  const env = { ...process.env, NODE_OPTIONS: nodeOptions };
  const { code, stdout, stderr } = await run(process.execPath, ['-e', LOAD_SCRIPT, file], { cwd: path.dirname(file), env, timeoutMs: 60_000 });
  if (code !== 0) throw new Error(`loading ${file} failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(stdout) as { ms: number; cpuMs: number };
}

function run(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout also stops what it started (cdk runs the app in a child process).
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
