import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { LedgerEntry } from '../../functions/kernel/ledger/entry';
import { LedgerReader, LedgerWriter } from '../../functions/kernel/ledger/ledger';
import { LocalCloud, startLocalCloud } from '../../localstack/local-cloud';
import { topologyCheckpointingEvery } from '../support/checkpoints';

let cloud: LocalCloud;
let doc: DynamoDBDocumentClient;
const warnings: string[] = [];

beforeAll(async () => {
  cloud = await startLocalCloud({
    prefix: `c${randomUUID().slice(0, 8)}`,
    stateFile: false,
    topology: topologyCheckpointingEvery(3),
    checkpointIntervalMs: 100,
    logger: { error: (m: string) => warnings.push(m), warn: (m: string) => warnings.push(m) },
  });
  doc = DynamoDBDocumentClient.from(new DynamoDBClient(awsClientConfig({ endpoint: cloud.state.endpoint })));
});

afterAll(async () => {
  await cloud?.stop();
  doc?.destroy();
});

async function until(predicate: (entries: LedgerEntry[]) => boolean, reader: LedgerReader): Promise<LedgerEntry[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const entries = await reader.readAll();
    if (predicate(entries)) return entries;
    if (Date.now() > deadline) throw new Error(`no checkpoint: ${JSON.stringify(entries.map((e) => e.type))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the local cloud has the signer checkpoint the ledger on a timer, every checkpointEvery entries', async () => {
  const location = { doc, tableName: cloud.state.tables.ledger };
  const reader = new LedgerReader(location);
  const ledger = new LedgerWriter(location);
  for (let i = 0; i < 3; i++) await ledger.append({ type: 'message.sent', actor: 'core', detail: { i } });
  const entries = await until((all) => all.some((e) => e.type === 'checkpoint'), reader);
  expect(entries.find((e) => e.type === 'checkpoint')).toMatchObject({ seq: 4, actor: 'signer', detail: { seq: 3, keyId: cloud.state.authorityKeyArn } });
  expect(warnings).toEqual([]);

  await cloud.stop();
  await ledger.append({ type: 'message.sent', actor: 'core' });
  await ledger.append({ type: 'message.sent', actor: 'core' });
  await ledger.append({ type: 'message.sent', actor: 'core' });
  await new Promise((r) => setTimeout(r, 400));
  expect((await reader.readAll()).filter((e) => e.type === 'checkpoint')).toHaveLength(1);
});
