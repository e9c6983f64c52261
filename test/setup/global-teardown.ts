import type { Emulator } from '../../localstack/emulator';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __agentsecEmulator?: Emulator }).__agentsecEmulator?.stop();
}
