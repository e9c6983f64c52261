import { randomUUID } from 'node:crypto';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateTableCommand, DynamoDBClient, KeyType, ScalarAttributeType } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { LEVELS, Level } from '../../functions/kernel/labels';

/** Clients for the emulator started by the jest global setup. */
export function emulatorEndpoint(): string {
  const endpoint = process.env.AGENTSEC_AWS_ENDPOINT;
  if (!endpoint) throw new Error('AGENTSEC_AWS_ENDPOINT is not set: run the tests through jest (global setup starts the emulator)');
  return endpoint;
}

export const kms = () => new KMSClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
export const dynamo = () => new DynamoDBClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
export const secretsManager = () => new SecretsManagerClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
export const documentClient = () =>
  DynamoDBDocumentClient.from(dynamo(), { marshallOptions: { removeUndefinedValues: true } });

/** A unique resource name, so tests never share state. */
export const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** One fresh symmetric key per level, as the keyring construct creates them. */
export async function createLevelKeys(client = kms()): Promise<Record<Level, string>> {
  const entries = await Promise.all(
    LEVELS.map(async (level) => {
      const out = await client.send(
        new CreateKeyCommand({ Description: `test ${level}`, Tags: [{ TagKey: 'agentsec:level', TagValue: level }] }),
      );
      return [level, out.KeyMetadata!.Arn!] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<Level, string>;
}

/** A fresh ECC_NIST_P256 signing key (the authority key, or an impostor). */
export async function createSigningKey(client = kms()): Promise<string> {
  const out = await client.send(
    new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'test signing key' }),
  );
  return out.KeyMetadata!.Arn!;
}

/** A fresh table with a string partition key and an optional sort key (numeric unless `sortKeyType` says `S`). */
export async function createTable(name: string, partitionKey: string, sortKey?: string, sortKeyType: 'N' | 'S' = 'N'): Promise<string> {
  await dynamo().send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: partitionKey, AttributeType: ScalarAttributeType.S },
        ...(sortKey ? [{ AttributeName: sortKey, AttributeType: sortKeyType === 'S' ? ScalarAttributeType.S : ScalarAttributeType.N }] : []),
      ],
      KeySchema: [
        { AttributeName: partitionKey, KeyType: KeyType.HASH },
        ...(sortKey ? [{ AttributeName: sortKey, KeyType: KeyType.RANGE }] : []),
      ],
    }),
  );
  return name;
}

/** Rewrites the actor of sealed ledger entry `seq` in place, as someone with write access to the table would. */
export async function rewriteLedgerActor(ledgerTable: string, seq: number, actor = 'mallory'): Promise<void> {
  await documentClient().send(
    new UpdateCommand({
      TableName: ledgerTable,
      Key: { chain: 'main', seq },
      UpdateExpression: 'SET #actor = :actor',
      ExpressionAttributeNames: { '#actor': 'actor' },
      ExpressionAttributeValues: { ':actor': actor },
    }),
  );
}
