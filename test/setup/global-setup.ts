import { startEmulator } from '../../localstack/emulator';
import { quietPowertools } from './powertools-environment';

/** Starts the emulator once for the whole test run; workers inherit its endpoint through the environment. */
export default async function globalSetup(): Promise<void> {
  quietPowertools();
  const emulator = await startEmulator({ log: (l) => process.stderr.write(`[agentsec] ${l}\n`) });
  process.env.AGENTSEC_AWS_ENDPOINT = emulator.endpoint;
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  (globalThis as { __agentsecEmulator?: typeof emulator }).__agentsecEmulator = emulator;
}
