import { TABLES, TableName } from '../functions/kernel/tables';
import type { ProvisionedResources } from './local-state';

/** What the local cloud needs to know about one in-process function to build its environment. */
export interface FunctionEnvironmentSpec {
  /** The agent this function runs; absent for the API and signer functions. */
  readonly agent?: string;
  /** Agents it may send to: only their queue URLs are handed over (DESIGN §3, send rights follow edges). */
  readonly sendsTo: readonly string[];
  /** Name under which the signer is reachable, for functions that request directives. */
  readonly signerFunction?: string;
}

/**
 * The environment the CDK stack would give this function (functions/platform/environment.ts), built from the
 * local cloud's resources, plus the emulator endpoint and region its AWS clients need. An unknown agent is an
 * error, never a missing entry (fail closed).
 */
export function environmentFor(resources: ProvisionedResources, fn: FunctionEnvironmentSpec): Record<string, string> {
  const lookup = (urls: Record<string, string>, agent: string, what: string) => {
    const url = urls[agent];
    if (!url) throw new Error(`no ${what} for agent "${agent}"`);
    return url;
  };
  const env: Record<string, string> = {
    AGENTSEC_AWS_ENDPOINT: resources.endpoint,
    AWS_REGION: resources.region,
    AGENTSEC_KEY_ARNS: JSON.stringify(resources.keys),
    AGENTSEC_AUTHORITY_KEY_ARN: resources.authorityKeyArn,
    AGENTSEC_QUEUE_URLS: JSON.stringify(Object.fromEntries(fn.sendsTo.map((to) => [to, lookup(resources.queues, to, 'queue')]))),
    AGENTSEC_USER_POOL_ID: resources.userPoolId,
    AGENTSEC_USER_POOL_CLIENT_ID: resources.userPoolClientId,
  };
  if (fn.agent !== undefined) {
    lookup(resources.queues, fn.agent, 'queue');
    env.AGENTSEC_AGENT = fn.agent;
    env.AGENTSEC_DLQ_URL = lookup(resources.dlqs, fn.agent, 'dead-letter queue');
    env.AGENTSEC_FAILED_QUEUE_URL = lookup(resources.failedQueues, fn.agent, 'failed queue');
  }
  if (fn.signerFunction !== undefined) env.AGENTSEC_SIGNER_FUNCTION = fn.signerFunction;
  for (const table of Object.keys(TABLES) as TableName[]) env[TABLES[table].env] = resources.tables[table];
  return env;
}
