/** Installs the emulator if needed, starts it, checks it answers, and stops it: the path the tests take. */
import { startEmulator } from './emulator';

async function main(): Promise<void> {
  const started = Date.now();
  const emulator = await startEmulator({ log: (l) => console.log(`[agentsec] ${l}`) });
  console.log(`[agentsec] emulator ready at ${emulator.endpoint} in ${Date.now() - started} ms`);
  await emulator.stop();
}

main().catch((err) => {
  console.error(`[agentsec] the AWS emulator could not start: ${(err as Error).message}`);
  process.exit(1);
});
