import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { PROJECT_ROOT, startEmulator } from '../localstack/emulator';

/**
 * `npm run mutate [-- stryker options]`: mutation testing of the kernel. Starts one emulator for the whole
 * Stryker run (its jest runs share it through `AGENTSEC_AWS_ENDPOINT`), runs `stryker run` with the given
 * arguments, then stops the emulator. Reports land in `reports/mutation/`.
 */
async function main(): Promise<number> {
  const emulator = await startEmulator({ log: (l) => process.stderr.write(`[agentsec] ${l}\n`) });
  const env = {
    ...process.env,
    AGENTSEC_AWS_ENDPOINT: emulator.endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  try {
    const stryker = spawn(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'stryker'), ['run', ...process.argv.slice(2)], {
      cwd: PROJECT_ROOT,
      env,
      stdio: 'inherit',
    });
    // Ctrl-C or a CI timeout stops Stryker first, so the emulator is stopped after it, never left running.
    const forward = (signal: NodeJS.Signals) => stryker.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    return await new Promise<number>((resolve, reject) => {
      stryker.once('error', reject);
      stryker.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await emulator.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
