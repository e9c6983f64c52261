import { spawn } from 'node:child_process';
import { PROJECT_ROOT } from '../../../lib/handler-function';

export interface CdkRun {
  readonly code: number | null;
  readonly output: string;
}

/**
 * Runs the project's own aws-cdk CLI (`npx --no cdk`, never a download) with exactly `env` as its
 * environment, so a test states what the CLI may know (credentials, endpoint, proxy).
 */
export function runCdk(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CdkRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--no', 'cdk', ...args, '--no-notices'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`cdk ${args.join(' ')} took longer than ${timeoutMs} ms:\n${output.slice(-4000)}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The variables every CLI run keeps from this process: the path, home and the Node runtime's own. */
export function baseEnvironment(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'NODE_OPTIONS', 'npm_config_cache'];
  return {
    ...Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]])),
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    // No instance metadata lookups for credentials or region.
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}
