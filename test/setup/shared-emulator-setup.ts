import { waitForEndpoint } from '../../localstack/emulator';
import { quietPowertools } from './powertools-environment';

/**
 * Global setup for runs that share one emulator across many jest invocations (Stryker re-runs jest in-process
 * for every mutant, so an emulator per run would be started and stopped thousands of times): it only checks
 * that the emulator `scripts/mutate.ts` started answers.
 */
export default async function sharedEmulatorSetup(): Promise<void> {
  quietPowertools();
  const endpoint = process.env.AGENTSEC_AWS_ENDPOINT;
  if (!endpoint) throw new Error('AGENTSEC_AWS_ENDPOINT is not set: run mutation testing with `npm run mutate`');
  await waitForEndpoint(endpoint);
}
