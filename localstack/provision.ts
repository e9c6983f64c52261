import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClientConfig } from '../functions/platform/aws-clients';
import type { Topology } from '../functions/kernel/topology/topology';
import type { ProvisionedResources } from './local-state';
import { ensureAuthorityKey, ensureLevelKeys } from './provision-keys';
import { ensureAgentQueues } from './provision-queues';
import { seedRecords } from './provision-records';
import { hospitalRecords } from './fixtures/patient-records';
import { ensureTables } from './provision-tables';
import { ensureUserPool, ensureUsers } from './provision-users';

export interface ProvisionOptions {
  /** The emulator's endpoint. */
  readonly endpoint: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  readonly topology: Topology;
  /** Names every resource (`<prefix>-core`, `alias/<prefix>-SECRET`, ...); provisioning again with it reuses them. */
  readonly prefix: string;
  /** Passwords to keep for users of a previous run (from its `local.json`); others get fresh ones. */
  readonly passwords?: Readonly<Record<string, string>>;
}

const PREFIX = /^[a-z][a-z0-9-]{0,30}$/;

/**
 * Creates, through the AWS APIs, everything the topology needs on one machine (DESIGN §9): level keys and the
 * authority key, each agent's queue, failed queue and DLQ, every table, the classified records sealed into the records
 * table, the Cognito user pool, its client and the seeded users. Idempotent per prefix: keys, queues, tables, pool and
 * client are found again and reused; records are sealed again under the same ids; users are updated to the topology's
 * clearance and given the passwords passed in, or fresh ones.
 * The result lacks `apiUrl`, `modelUrl` and `consoleUrl`, which belong to the servers the caller starts.
 *
 * @example
 * const resources = await provisionLocalCloud({ endpoint, topology: loadTopology(), prefix: 'agentsec' });
 * writeLocalState('.agentsec/local.json', { ...resources, apiUrl: api.url, modelUrl });
 */
export async function provisionLocalCloud(options: ProvisionOptions): Promise<ProvisionedResources> {
  if (!PREFIX.test(options.prefix)) throw new Error(`prefix must match ${PREFIX}: ${JSON.stringify(options.prefix)}`);
  // Only defined overrides: awsClientConfig spreads them over its defaults.
  const config = awsClientConfig({ endpoint: options.endpoint, ...(options.region && { region: options.region }) });
  const kms = new KMSClient(config);
  const sqs = new SQSClient(config);
  const dynamo = new DynamoDBClient(config);
  const cognito = new CognitoIdentityProviderClient(config);
  const { topology, prefix } = options;
  try {
    const [keys, authorityKeyArn, queues, tables, pool] = await Promise.all([
      ensureLevelKeys(kms, prefix),
      ensureAuthorityKey(kms, prefix),
      ensureAgentQueues(sqs, {
        prefix,
        agents: topology.agentNames(),
        maxReceiveCount: topology.runtime.maxReceiveCount,
        failedMaxReceiveCount: topology.runtime.failedMaxReceiveCount,
        visibilityTimeoutSeconds: topology.runtime.visibilityTimeoutSeconds,
        retentionDays: topology.runtime.messageRetentionDays,
      }),
      ensureTables(dynamo, prefix),
      ensureUserPool(cognito, prefix),
    ]);
    const [users] = await Promise.all([
      ensureUsers(cognito, pool.userPoolId, topology.users, options.passwords),
      // Classified records at rest (DESIGN §3), sealed by provisioning as the record seeder; again, the same records.
      seedRecords({ kms, doc: DynamoDBDocumentClient.from(dynamo), keyArns: keys, tableName: tables.records, topology, records: hospitalRecords() }),
    ]);
    return {
      endpoint: options.endpoint,
      region: config.region,
      queues: queues.queues,
      failedQueues: queues.failedQueues,
      dlqs: queues.dlqs,
      keys,
      authorityKeyArn,
      tables,
      userPoolId: pool.userPoolId,
      userPoolClientId: pool.userPoolClientId,
      users,
    };
  } finally {
    for (const client of [kms, sqs, dynamo, cognito]) client.destroy();
  }
}

export { environmentFor } from './handler-environment';
export type { FunctionEnvironmentSpec } from './handler-environment';
