import type { DynamoDBStreamEvent } from 'aws-lambda';
import { marshall } from '@aws-sdk/util-dynamodb';
import { handleLedgerStream } from '../../functions/handlers/sequencer';
import { LedgerReader } from '../../functions/kernel/ledger/ledger';
import { Sequencer } from '../../functions/kernel/ledger/sequencer';
import { TABLES } from '../../functions/kernel/tables';
import { ensureTable } from '../../localstack/provision-tables';
import { documentClient, dynamo, unique } from '../support/aws';

/** The sequencer function (DESIGN §7): seals a stream batch, then asks for a tree head, never held back by the signer. */

let seq = 0;
/** A stream record of a pending entry written by `writer`, as Lambda delivers it. */
function inserted(writer: string, n: number): DynamoDBStreamEvent['Records'][number] {
  const item = { chain: `${writer}#pending`, seq: 1_000 + n, type: 'message.sent', actor: writer, at: new Date().toISOString() };
  return {
    eventName: 'INSERT',
    dynamodb: { SequenceNumber: String(++seq), Keys: marshall({ chain: item.chain, seq: item.seq }) as never, NewImage: marshall(item) as never },
  };
}

async function fixture(signer: { checkpoint: () => Promise<never> }, signerWaitMs = 200) {
  const tableName = unique('ledger');
  await ensureTable(dynamo(), tableName, TABLES.ledger);
  const doc = documentClient();
  return { tableName, doc, fn: { sequencer: new Sequencer({ doc, tableName, actor: 'sequencer', signer: 'signer' }), signer, signerWaitMs } };
}

describe('the sequencer function', () => {
  it('asks the signer for a tree head after a batch that sealed something, and not after one that sealed nothing', async () => {
    const checkpoint = jest.fn(async () => ({ status: 'not_due' }) as never);
    const f = await fixture({ checkpoint });
    const batch = { Records: [inserted('core', 1), inserted('edge', 2)] };
    expect(await handleLedgerStream(batch, f.fn)).toMatchObject({ sealed: 2, skipped: 0 });
    expect(checkpoint).toHaveBeenCalledTimes(1);
    expect(checkpoint).toHaveBeenCalledWith(true);
    // The same batch again (a retry): nothing new is sealed, so no head is asked for.
    expect(await handleLedgerStream(batch, f.fn)).toMatchObject({ sealed: 0, skipped: 2 });
    expect(checkpoint).toHaveBeenCalledTimes(1);
  });

  it('a signer that never answers does not hold the stream back: the batch is sealed and the function returns', async () => {
    const f = await fixture({ checkpoint: () => new Promise<never>(() => undefined) });
    const started = Date.now();
    expect(await handleLedgerStream({ Records: [inserted('core', 3)] }, f.fn)).toMatchObject({ sealed: 1 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await new LedgerReader({ doc: f.doc, tableName: f.tableName }).readAll()).map((e) => e.actor)).toEqual(['core']);
  });

  it('reads when DynamoDB wrote a record from Lambda\'s epoch seconds: an entry claiming an hour later is refused', async () => {
    const f = await fixture({ checkpoint: async () => ({ status: 'not_due' }) as never });
    const record = inserted('core', 5);
    record.dynamodb!.ApproximateCreationDateTime = Math.floor(Date.now() / 1000) - 3_600;
    expect(await handleLedgerStream({ Records: [record, inserted('core', 6)] }, f.fn)).toMatchObject({ sealed: 1, refused: 1 });
  });

  it('a signer that fails leaves the entries sealed and the batch done', async () => {
    const f = await fixture({ checkpoint: async () => Promise.reject(new Error('KMS throttled')) });
    expect(await handleLedgerStream({ Records: [inserted('core', 4)] }, f.fn)).toMatchObject({ sealed: 1 });
  });
});
