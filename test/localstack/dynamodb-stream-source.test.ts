import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../../functions/kernel/tables';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { DynamoDbStreamSource } from '../../localstack/dynamodb-stream-source';
import { ensureTable, streamArnOf } from '../../localstack/provision-tables';
import { documentClient, dynamo, emulatorEndpoint, unique } from '../support/aws';

/** The local DynamoDB stream event source: Lambda's batching window, a failed batch delivered again whole, settling. */

async function source(options: { batchingWindowMs?: number; handler?: (e: DynamoDBStreamEvent) => Promise<unknown> } = {}) {
  const tableName = unique('stream');
  await ensureTable(dynamo(), tableName, TABLES.ledger);
  const batches: number[][] = [];
  const src = new DynamoDbStreamSource({
    streams: new DynamoDBStreamsClient(awsClientConfig({ endpoint: emulatorEndpoint() })),
    streamArn: await streamArnOf(dynamo(), tableName),
    handler: async (e) => {
      await options.handler?.(e);
      batches.push(e.Records.map((r) => Number(r.dynamodb?.Keys?.seq?.N)));
    },
    batchingWindowMs: options.batchingWindowMs,
    logger: { error: () => undefined, warn: () => undefined },
  });
  await src.start();
  const doc = documentClient();
  const put = (seq: number) => doc.send(new PutCommand({ TableName: tableName, Item: { chain: 'x', seq } }));
  return { src, batches, put };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the DynamoDB stream event source', () => {
  it('gathers records written within the batching window into one batch, in order', async () => {
    const s = await source({ batchingWindowMs: 1_500 });
    try {
      for (let i = 1; i <= 5; i++) {
        await s.put(i);
        await sleep(60);
      }
      await sleep(2_000);
      expect(s.batches).toEqual([[1, 2, 3, 4, 5]]);
    } finally {
      await s.src.stop();
    }
  });

  it('without a window each poll hands over what it found; settled() waits for every record written before it', async () => {
    const s = await source();
    try {
      for (let i = 1; i <= 3; i++) await s.put(i);
      await s.src.settled();
      expect(s.batches.flat()).toEqual([1, 2, 3]);
    } finally {
      await s.src.stop();
    }
  });

  it('a batch whose invocation throws is delivered again, whole, until it succeeds', async () => {
    let calls = 0;
    const s = await source({ handler: async () => { if (++calls === 1) throw new Error('the function dies'); } });
    try {
      for (let i = 1; i <= 3; i++) await s.put(i);
      await sleep(300);
      await s.src.settled();
      expect(s.batches.flat()).toEqual([1, 2, 3]);
      expect(s.src.counters.failedInvocations).toBe(1);
    } finally {
      await s.src.stop();
    }
  });
});
