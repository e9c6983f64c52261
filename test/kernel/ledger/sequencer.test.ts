import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LedgerReader } from '../../../functions/kernel/ledger/ledger';
import { LedgerEntry } from '../../../functions/kernel/ledger/entry';
import { PendingLedgerWriter, pendingPartition } from '../../../functions/kernel/ledger/pending';
import { Sequencer } from '../../../functions/kernel/ledger/sequencer';
import { verifyChain } from '../../../functions/kernel/ledger/verify-chain';
import { TABLES } from '../../../functions/kernel/tables';
import { changesOf } from '../../../functions/handlers/sequencer';
import { awsClientConfig } from '../../../functions/platform/aws-clients';
import { DynamoDbStreamSource } from '../../../localstack/dynamodb-stream-source';
import { streamArnOf } from '../../../localstack/provision-tables';
import { atomicConditionalWrites } from './support';
import { documentClient, dynamo, emulatorEndpoint, unique } from '../../support/aws';

/**
 * Pending entries and the sequencer (DESIGN §7): writers append to their own partitions with one put; the sequencer
 * alone seals them, from the table's stream, into one gap-free chain, exactly once, and ledgers what it refuses.
 */

interface Log {
  doc: DynamoDBDocumentClient;
  tableName: string;
  source: DynamoDbStreamSource;
  reader: LedgerReader;
  writer(name: string): PendingLedgerWriter;
}

const open: DynamoDbStreamSource[] = [];
afterAll(async () => {
  await Promise.all(open.map((s) => s.stop()));
});

/** A fresh ledger table with its stream, and the sequencer reading it; `crashOn` makes chosen seals die before or after they land. */
async function log(options: { crashOn?: (put: number) => 'before' | 'after' | undefined } = {}): Promise<Log> {
  const tableName = unique('ledger');
  await dynamo().send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: TABLES.ledger.partitionKey, AttributeType: 'S' },
        { AttributeName: TABLES.ledger.sortKey.name, AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: TABLES.ledger.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLES.ledger.sortKey.name, KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  const doc = atomicConditionalWrites(documentClient());
  const sequencerDoc = atomicConditionalWrites(documentClient());
  let puts = 0;
  sequencerDoc.middlewareStack.add(
    (next, context) => async (args) => {
      const crash = context.commandName === 'PutItemCommand' ? options.crashOn?.(++puts) : undefined;
      if (crash === 'before') throw new Error('the sequencer dies before its write');
      const result = await next(args);
      if (crash === 'after') throw new Error('the sequencer dies after its write landed');
      return result;
    },
    { step: 'initialize', name: 'crash' },
  );
  const streams = new DynamoDBStreamsClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
  const sequencer = new Sequencer({ doc: sequencerDoc, tableName, actor: 'sequencer', signer: 'signer' });
  const source = new DynamoDbStreamSource({
    streams,
    streamArn: await streamArnOf(dynamo(), tableName),
    handler: (event) => sequencer.sequence(changesOf(event)),
    batchSize: 50,
    logger: { error: () => undefined, warn: () => undefined },
  });
  await source.start();
  open.push(source);
  return { doc, tableName, source, reader: new LedgerReader({ doc, tableName }), writer: (name) => new PendingLedgerWriter({ doc, tableName, writer: name }) };
}

const entry = (actor: string, i: number) => ({ type: 'message.sent' as const, actor, commandId: `cmd-${i}`, detail: { n: i } });

describe('pending entries and the sequencer', () => {
  it('a writer appends with one put to its own partition, and the sequencer seals it with its source named', async () => {
    const l = await log();
    const sent: string[] = [];
    l.doc.middlewareStack.add((next, context) => async (args) => (sent.push(context.commandName ?? ''), next(args)), { step: 'initialize' });
    const pending = await l.writer('core').append(entry('core', 1));
    expect(sent).toEqual(['PutItemCommand']);
    expect(pending.chain).toBe(pendingPartition('core'));
    await l.source.settled();
    const [sealed] = await l.reader.readAll();
    expect(sealed).toMatchObject({ seq: 1, type: 'message.sent', actor: 'core', at: pending.at, pending: `core#pending/${pending.seq}` });
    expect(verifyChain(await l.reader.readAll())).toMatchObject({ ok: true, entries: 1 });
  });

  it('concurrent writers need no coordination: 8 writers x 25 entries give one gap-free verified log, each entry once', async () => {
    const l = await log();
    const writers = Array.from({ length: 8 }, (_, w) => l.writer(`agent${w}`));
    await Promise.all(writers.map(async (w, wi) => { for (let i = 0; i < 25; i++) await w.append(entry(`agent${wi}`, i)); }));
    await l.source.settled();
    const all = await l.reader.readAll();
    expect(verifyChain(all)).toMatchObject({ ok: true, entries: 200 });
    expect(new Set(all.map((e) => e.pending)).size).toBe(200);
    for (let w = 0; w < 8; w++) {
      // One writer's entries keep their order in the log.
      expect(all.filter((e) => e.actor === `agent${w}`).map((e) => e.detail?.n)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    }
  });

  it('a sequencer crashing mid-batch loses and duplicates nothing: the batch is delivered again and sealed exactly once', async () => {
    // The 5th seal dies before its write, the 12th after its write landed (its answer lost): each batch fails midway.
    const l = await log({ crashOn: (n) => (n === 5 ? 'before' : n === 12 ? 'after' : undefined) });
    const w = l.writer('core');
    for (let i = 0; i < 20; i++) await w.append(entry('core', i));
    await l.source.settled();
    const all = await l.reader.readAll();
    expect(verifyChain(all)).toMatchObject({ ok: true, entries: 20 });
    expect(all.map((e) => e.detail?.n)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(l.source.counters.failedInvocations).toBeGreaterThanOrEqual(1);
  });

  it('a pending entry naming an actor its writer may not record as is refused IMPERSONATION, not sealed as that actor', async () => {
    const l = await log();
    // The writer's code is hostile: it writes `actor: carol` into its own partition (all IAM lets it write).
    await l.writer('edge').append({ type: 'approval.recorded', actor: 'carol', commandId: 'cmd-1' });
    await l.writer('signer').append({ type: 'approval.recorded', actor: 'carol', commandId: 'cmd-1' });
    await l.source.settled();
    const all = await l.reader.readAll();
    expect(all.map((e) => [e.type, e.actor, e.reason ?? null])).toEqual([
      ['ledger.refused', 'sequencer', 'IMPERSONATION'],
      ['approval.recorded', 'carol', null],
    ]);
    expect(all[0].detail).toMatchObject({ writer: 'edge', claimedActor: 'carol' });
  });

  it('a malformed pending entry is refused SCHEMA, and a rewritten or deleted one is sealed as first written with the change ledgered as tampering', async () => {
    const l = await log();
    await l.doc.send(new PutCommand({ TableName: l.tableName, Item: { chain: pendingPartition('edge'), seq: 1, type: 'no.such.type', actor: 'edge', at: new Date().toISOString() } }));
    const written = await l.writer('core').append(entry('core', 1));
    const key = { chain: written.chain, seq: written.seq };
    await l.doc.send(new PutCommand({ TableName: l.tableName, Item: { ...written, commandId: 'cmd-rewritten' } }));
    await l.doc.send(new DeleteCommand({ TableName: l.tableName, Key: key }));
    await l.source.settled();
    const all: LedgerEntry[] = await l.reader.readAll();
    expect(all.map((e) => [e.type, e.reason ?? null, e.commandId ?? null, e.detail?.change ?? null])).toEqual([
      ['ledger.refused', 'SCHEMA', null, null],
      ['message.sent', null, 'cmd-1', null],
      ['ledger.tampered', 'TAMPERED', null, 'MODIFY'],
      ['ledger.tampered', 'TAMPERED', null, 'REMOVE'],
    ]);
    expect(all[2].detail).toMatchObject({ writer: 'core', pendingId: written.seq });
    expect(verifyChain(all).ok).toBe(true);
  });

  it('a backdated pending entry is refused SCHEMA: its time is checked against when DynamoDB wrote it', async () => {
    const l = await log();
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    await l.doc.send(new PutCommand({ TableName: l.tableName, Item: { chain: pendingPartition('edge'), seq: 7, type: 'message.sent', actor: 'edge', at: hourAgo } }));
    await l.writer('edge').append(entry('edge', 2));
    await l.source.settled();
    const all = await l.reader.readAll();
    expect(all.map((e) => [e.type, e.reason ?? null])).toEqual([
      ['ledger.refused', 'SCHEMA'],
      ['message.sent', null],
    ]);
  });

  it('the stream delivered again from its start seals nothing twice, given the log it already sealed', async () => {
    const l = await log();
    for (let i = 0; i < 40; i++) await l.writer('core').append(entry('core', i));
    await l.source.settled();
    const again = new Sequencer({ doc: l.doc, tableName: l.tableName, actor: 'sequencer', signer: 'signer' });
    again.remember(await l.reader.readAll());
    const replay = new DynamoDbStreamSource({
      streams: new DynamoDBStreamsClient(awsClientConfig({ endpoint: emulatorEndpoint() })),
      streamArn: await streamArnOf(dynamo(), l.tableName),
      handler: (event) => again.sequence(changesOf(event)),
    });
    await replay.start();
    open.push(replay);
    await replay.settled();
    expect(verifyChain(await l.reader.readAll())).toMatchObject({ ok: true, entries: 40 });
  });
});
