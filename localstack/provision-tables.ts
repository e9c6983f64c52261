import {
  AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  KeySchemaElement,
  ResourceInUseException,
  ResourceNotFoundException,
  TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { TABLES, TableDefinition, TableName } from '../functions/kernel/tables';

/**
 * Every table of `TABLES` with its keys and, where it has one, its TTL attribute enabled (the emulator never
 * expires items, so nothing may depend on expiry). An existing table is reused.
 */

export const tableNameFor = (prefix: string, table: TableName) => `${prefix}-${table}`;

export async function ensureTables(dynamo: DynamoDBClient, prefix: string): Promise<Record<TableName, string>> {
  const names = await Promise.all(
    (Object.entries(TABLES) as [TableName, TableDefinition][]).map(async ([table, def]) => {
      const name = tableNameFor(prefix, table);
      await ensureTable(dynamo, name, def);
      if (def.ttlAttribute) await ensureTtl(dynamo, name, def.ttlAttribute);
      return [table, name] as const;
    }),
  );
  return Object.fromEntries(names) as Record<TableName, string>;
}

/** One table of `TABLES` (with its stream, if it has one); an existing one is reused, its stream turned on. */
export async function ensureTable(dynamo: DynamoDBClient, name: string, def: TableDefinition): Promise<void> {
  const existing = await describedTable(dynamo, name);
  if (existing) {
    if (def.stream && existing.StreamSpecification?.StreamEnabled !== true) {
      await dynamo.send(new UpdateTableCommand({ TableName: name, StreamSpecification: { StreamEnabled: true, StreamViewType: def.stream } }));
    }
    return;
  }
  const attributes: AttributeDefinition[] = [{ AttributeName: def.partitionKey, AttributeType: 'S' }];
  const keys: KeySchemaElement[] = [{ AttributeName: def.partitionKey, KeyType: 'HASH' }];
  if (def.sortKey) {
    attributes.push({ AttributeName: def.sortKey.name, AttributeType: def.sortKey.type });
    keys.push({ AttributeName: def.sortKey.name, KeyType: 'RANGE' });
  }
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: attributes,
        KeySchema: keys,
        ...(def.stream && { StreamSpecification: { StreamEnabled: true, StreamViewType: def.stream } }),
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err; // created concurrently: fine
  }
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 60, minDelay: 1 }, { TableName: name });
}

async function describedTable(dynamo: DynamoDBClient, name: string): Promise<TableDescription | undefined> {
  try {
    return (await dynamo.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

/** The ARN of a table's stream (the table must have one). */
export async function streamArnOf(dynamo: DynamoDBClient, name: string): Promise<string> {
  const arn = (await describedTable(dynamo, name))?.LatestStreamArn;
  if (!arn) throw new Error(`table ${name} has no stream`);
  return arn;
}

async function ensureTtl(dynamo: DynamoDBClient, name: string, attribute: string): Promise<void> {
  const current = (await dynamo.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription;
  if (current?.TimeToLiveStatus === 'ENABLED' && current.AttributeName === attribute) return;
  await dynamo.send(
    new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } }),
  );
}
