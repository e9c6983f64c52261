import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { changesOf } from '../../functions/handlers/sequencer';
import { LedgerReader } from '../../functions/kernel/ledger/ledger';
import { PendingLedgerWriter } from '../../functions/kernel/ledger/pending';
import { Sequencer } from '../../functions/kernel/ledger/sequencer';
import { verifyChain } from '../../functions/kernel/ledger/verify-chain';
import { TABLES } from '../../functions/kernel/tables';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { DynamoDbStreamSource } from '../../localstack/dynamodb-stream-source';
import { ensureTable, streamArnOf } from '../../localstack/provision-tables';
import { documentClient, dynamo, emulatorEndpoint, unique } from '../support/aws';

/**
 * DESIGN §7 at volume: 8 writers append 500 entries each at once, each to its own partition, while the sequencer seals
 * them from the stream and dies twice mid-batch. One gap-free log verifies, with every entry exactly once and each
 * writer's entries in the order it wrote them.
 */
const WRITERS = 8;
const PER_WRITER = 500;

it('8 concurrent writers x 500 entries give one gap-free verified log, each entry once, through two sequencer crashes', async () => {
  const tableName = unique('ledger');
  await ensureTable(dynamo(), tableName, TABLES.ledger);
  const doc = documentClient();
  const sequencerDoc = documentClient();
  let puts = 0;
  sequencerDoc.middlewareStack.add(
    (next, context) => async (args) => {
      const n = context.commandName === 'PutItemCommand' ? ++puts : 0;
      if (n === 700) throw new Error('the sequencer dies before its write');
      const out = await next(args);
      if (n === 2100) throw new Error('the sequencer dies after its write landed');
      return out;
    },
    { step: 'initialize', name: 'crash' },
  );
  const sequencer = new Sequencer({ doc: sequencerDoc, tableName, actor: 'sequencer', signer: 'signer' });
  const source = new DynamoDbStreamSource({
    streams: new DynamoDBStreamsClient(awsClientConfig({ endpoint: emulatorEndpoint() })),
    streamArn: await streamArnOf(dynamo(), tableName),
    handler: (event) => sequencer.sequence(changesOf(event)),
    logger: { error: () => undefined, warn: () => undefined },
  });
  await source.start();
  try {
    const started = Date.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const writer = new PendingLedgerWriter({ doc, tableName, writer: `agent${w}` });
        for (let i = 0; i < PER_WRITER; i++) await writer.append({ type: 'message.sent', actor: `agent${w}`, detail: { n: i } });
      }),
    );
    const appended = Date.now();
    await source.settled(600_000);
    const all = await new LedgerReader({ doc, tableName }).readAll();
    console.log(
      `${WRITERS} writers x ${PER_WRITER}: appended in ${appended - started} ms (${Math.round((WRITERS * PER_WRITER * 1000) / (appended - started))}/s), ` +
        `all sealed ${Date.now() - started} ms after the first append; sequencer invocations ${source.counters.invocations}, failed ${source.counters.failedInvocations}`,
    );
    expect(verifyChain(all)).toMatchObject({ ok: true, entries: WRITERS * PER_WRITER });
    expect(new Set(all.map((e) => e.pending)).size).toBe(WRITERS * PER_WRITER);
    for (let w = 0; w < WRITERS; w++) {
      expect(all.filter((e) => e.actor === `agent${w}`).map((e) => e.detail?.n)).toEqual(Array.from({ length: PER_WRITER }, (_, i) => i));
    }
    expect(source.counters.failedInvocations).toBe(2);
  } finally {
    await source.stop();
  }
});
