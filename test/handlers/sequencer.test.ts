import type { DynamoDBStreamEvent } from 'aws-lambda';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { marshall } from '@aws-sdk/util-dynamodb';
import { SEQUENCER_ACTOR, handleLedgerStream } from '../../functions/handlers/sequencer';
import { LedgerReader } from '../../functions/kernel/ledger/ledger';
import { Sequencer } from '../../functions/kernel/ledger/sequencer';
import { TABLES } from '../../functions/kernel/tables';
import { METRIC, METRICS_NAMESPACE, serviceNameOf } from '../../functions/platform/metrics';
import { ensureTable } from '../../localstack/provision-tables';
import { documentClient, dynamo, unique } from '../support/aws';

/** The sequencer function (DESIGN §7): seals a stream batch, then asks for a tree head, never held back by the signer. */

let seq = 0;
/** A stream record of a pending entry written by `writer`, as Lambda delivers it; `fields` override the entry's. */
function inserted(writer: string, n: number, fields: Record<string, string> = {}): DynamoDBStreamEvent['Records'][number] {
  const item = { chain: `${writer}#pending`, seq: 1_000 + n, type: 'message.sent', actor: writer, at: new Date().toISOString(), ...fields };
  return {
    eventName: 'INSERT',
    dynamodb: { SequenceNumber: String(++seq), Keys: marshall({ chain: item.chain, seq: item.seq }) as never, NewImage: marshall(item) as never },
  };
}

/** The stream record of that pending entry rewritten afterwards (the writer, or anyone, changing what it recorded). */
function rewritten(writer: string, n: number): DynamoDBStreamEvent['Records'][number] {
  const before = { chain: `${writer}#pending`, seq: 1_000 + n, type: 'tool.denied', actor: writer, reason: 'NOT_AUTHORIZED', at: new Date().toISOString() };
  const after = { ...before, type: 'tool.executed', reason: undefined };
  return {
    eventName: 'MODIFY',
    dynamodb: {
      SequenceNumber: String(++seq),
      Keys: marshall({ chain: before.chain, seq: before.seq }) as never,
      OldImage: marshall(before) as never,
      NewImage: marshall(after, { removeUndefinedValues: true }) as never,
    },
  };
}

/** One metric value as CloudWatch reads it from the embedded metric format: `Name{dimension=value,...}`. */
type Counts = Record<string, number>;

/**
 * Runs `body` with Powertools Metrics as the sequencer function has them on AWS (namespace from the code, service from
 * `POWERTOOLS_SERVICE_NAME` as the stack sets it, metrics on), flushes them as the `logMetrics` middleware does after an
 * invocation, and returns what was written to stdout, by metric and dimensions.
 */
async function emitted(body: (metrics: Metrics) => Promise<unknown>, env: Record<string, string> = { POWERTOOLS_METRICS_DISABLED: 'false' }): Promise<Counts> {
  const vars = { POWERTOOLS_SERVICE_NAME: serviceNameOf(SEQUENCER_ACTOR), ...env };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  const counts: Counts = {};
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const doc = JSON.parse(String(chunk)) as Record<string, unknown> & { _aws?: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> } };
    for (const directive of doc._aws?.CloudWatchMetrics ?? []) {
      for (const metric of directive.Metrics) {
        for (const dimensions of directive.Dimensions) {
          const key = `${directive.Namespace}/${metric.Name}{${dimensions.map((d) => `${d}=${String(doc[d])}`).join(',')}}`;
          counts[key] = (counts[key] ?? 0) + Number(doc[metric.Name]);
        }
      }
    }
    return true;
  });
  try {
    // Powertools' own notices ("no application metrics") are not what is measured here.
    const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const metrics = new Metrics({ namespace: METRICS_NAMESPACE, logger: quiet });
    await body(metrics);
    metrics.publishStoredMetrics();
  } finally {
    stdout.mockRestore();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return counts;
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

  describe('counts what it seals, for the alarms of lib/operations.ts', () => {
    const service = `service=${serviceNameOf(SEQUENCER_ACTOR)}`;
    const metric = (name: string, ...dimensions: string[]) => `${METRICS_NAMESPACE}/${name}{${[service, ...dimensions].join(',')}}`;

    it('a rewritten pending entry as LedgerTampered, an impersonating one as LedgerRefused, denials and rejections as Refusals by reason', async () => {
      const f = await fixture({ checkpoint: async () => ({ status: 'not_due' }) as never });
      const batch = {
        Records: [
          inserted('core', 20),
          inserted('core', 21, { type: 'tool.denied', reason: 'NOT_AUTHORIZED' }),
          inserted('edge', 22, { type: 'message.rejected', reason: 'READ_UP' }),
          inserted('edge', 23, { type: 'egress.denied', reason: 'NOT_AUTHORIZED' }),
          // `edge` writes an entry in core's name: refused (IMPERSONATION), sealed as ledger.refused.
          inserted('edge', 24, { actor: 'core' }),
          rewritten('core', 21),
        ],
      };
      const counts = await emitted(async (metrics) => {
        expect(await handleLedgerStream(batch, { ...f.fn, metrics })).toMatchObject({ sealed: 4, refused: 1, tampered: 1 });
      });
      expect(counts).toEqual({
        [metric(METRIC.ledgerTampered)]: 1,
        [metric(METRIC.ledgerRefused)]: 1,
        [metric(METRIC.refusals)]: 3,
        [metric(METRIC.refusals, 'reason=NOT_AUTHORIZED')]: 2,
        [metric(METRIC.refusals, 'reason=READ_UP')]: 1,
        [metric(METRIC.ledgerEntries, 'type=message.sent')]: 1,
        [metric(METRIC.ledgerEntries, 'type=tool.denied')]: 1,
        [metric(METRIC.ledgerEntries, 'type=message.rejected')]: 1,
        [metric(METRIC.ledgerEntries, 'type=egress.denied')]: 1,
        [metric(METRIC.ledgerEntries, 'type=ledger.refused')]: 1,
        [metric(METRIC.ledgerEntries, 'type=ledger.tampered')]: 1,
      });
    });

    it('counts nothing twice: a batch delivered again seals nothing and emits nothing', async () => {
      const f = await fixture({ checkpoint: async () => ({ status: 'not_due' }) as never });
      const batch = { Records: [inserted('core', 30, { type: 'tool.denied', reason: 'NOT_AUTHORIZED' }), rewritten('core', 30)] };
      expect(await emitted((metrics) => handleLedgerStream(batch, { ...f.fn, metrics }))).toMatchObject({ [metric(METRIC.ledgerTampered)]: 1 });
      expect(await emitted((metrics) => handleLedgerStream(batch, { ...f.fn, metrics }))).toEqual({});
    });

    it('writes nothing where POWERTOOLS_METRICS_DISABLED is true (the local cloud, the tests)', async () => {
      const f = await fixture({ checkpoint: async () => ({ status: 'not_due' }) as never });
      const batch = { Records: [rewritten('core', 40)] };
      expect(await emitted((metrics) => handleLedgerStream(batch, { ...f.fn, metrics }), { POWERTOOLS_METRICS_DISABLED: 'true' })).toEqual({});
    });
  });
});
