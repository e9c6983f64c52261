import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { SQSClient } from '@aws-sdk/client-sqs';
import repoConfig from '../../agentsec.config.json';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { parseTopology, Topology } from '../../functions/kernel/topology/topology';
import { emulatorEndpoint } from '../support/aws';

export const sqs = () => new SQSClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
export const cognito = () => new CognitoIdentityProviderClient(awsClientConfig({ endpoint: emulatorEndpoint() }));

/** The repository's topology with runtime settings overridden (short timeouts keep the suite fast). */
export function topologyWith(runtime: Record<string, number> = {}): Topology {
  return parseTopology({ ...repoConfig, runtime: { ...repoConfig.runtime, ...runtime } });
}

/** A lower-case resource prefix unique to this test. */
export const uniquePrefix = (name: string) => `${name}-${Math.random().toString(36).slice(2, 10)}`;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `condition` until it holds or `timeoutMs` passes. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export { decodeJwt, motoSigningKey, signJwt } from '../../localstack/moto-tokens';
