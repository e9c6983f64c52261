import { randomUUID } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { isSecurityError } from '../../../functions/kernel/errors';
import { SingleUseStore } from '../../../functions/kernel/messages/single-use';
import { TABLES } from '../../../functions/kernel/tables';
import { createTable, documentClient, dynamo, unique } from '../../support/aws';

/** Single use of directive nonces and message ids, under concurrency, redelivery and transaction faults (DESIGN §4, §5). */

const doc = documentClient();
let table: string;
let store: SingleUseStore;

beforeAll(async () => {
  table = await createTable(unique('nonces'), TABLES.nonces.partitionKey);
  store = new SingleUseStore(doc, table, 'analyst');
});

const isReplay = (err: unknown) => isSecurityError(err, 'REPLAY');
const failure = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err);
const stored = async (value: string) => (await doc.send(new GetCommand({ TableName: table, Key: { [TABLES.nonces.partitionKey]: `analyst#${value}` } }))).Item;
const later = () => Date.now() + 60_000;

/** A store whose transactions DynamoDB cancels with `reasons` (the emulator cannot produce a conflict on demand). */
function storeWithCanceledTransactions(reasons: { Code: string }[] | undefined): SingleUseStore {
  const client = dynamo();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if ((context as { commandName?: string }).commandName === 'TransactWriteItemsCommand') {
        throw new TransactionCanceledException({ message: 'Transaction cancelled (injected)', $metadata: {}, CancellationReasons: reasons });
      }
      return next(args);
    },
    { step: 'initialize', name: 'cancelTransactions' },
  );
  return new SingleUseStore(DynamoDBDocumentClient.from(client), table, 'analyst');
}

describe('single-use values', () => {
  it('a value is consumed once; the second use is a REPLAY', async () => {
    const value = `directive#${randomUUID()}`;
    await store.consume(value, Date.now() + 60_000);
    expect(isReplay(await failure(store.consume(value, Date.now() + 60_000)))).toBe(true);
  });

  it('of many concurrent consumers of one value, exactly one wins', async () => {
    const value = `message#${randomUUID()}`;
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => store.consume(value, Date.now() + 60_000)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => isReplay((r as PromiseRejectedResult).reason))).toBe(true);
  });

  it('directive nonces and message ids live in separate namespaces', async () => {
    const id = randomUUID();
    await store.consume(`directive#${id}`, Date.now() + 60_000);
    await expect(store.consume(`message#${id}`, Date.now() + 60_000)).resolves.toBeUndefined();
  });

  it('records the expiry in epoch seconds under the table TTL attribute', async () => {
    const value = `directive#${randomUUID()}`;
    await store.consume(value, 1_900_000_000_500);
    expect((await stored(value))?.[TABLES.nonces.ttlAttribute]).toBe(1_900_000_001);
  });

  describe('a consumer named by its transport delivery id', () => {
    it('the same delivery consuming a value again is a redelivery, not a REPLAY', async () => {
      const value = `message#${randomUUID()}`;
      await store.consume(value, later(), 'sqs-delivery-1');
      await expect(store.consume(value, later(), 'sqs-delivery-1')).resolves.toBeUndefined();
    });

    it('the stored record names the delivery that consumed the value', async () => {
      const value = `message#${randomUUID()}`;
      await store.consume(value, later(), 'sqs-delivery-1');
      expect(await stored(value)).toMatchObject({ consumedBy: 'sqs-delivery-1' });
    });

    it('another delivery, or an unnamed consumer, consuming the same value is a REPLAY', async () => {
      const value = `message#${randomUUID()}`;
      await store.consume(value, later(), 'sqs-delivery-1');
      expect(isReplay(await failure(store.consume(value, later(), 'sqs-delivery-2')))).toBe(true);
      expect(isReplay(await failure(store.consume(value, later())))).toBe(true);
    });

    it('a value consumed without a delivery name is a REPLAY for every named delivery', async () => {
      const value = `directive#${randomUUID()}`;
      await store.consume(value, later());
      expect(isReplay(await failure(store.consume(value, later(), 'sqs-delivery-1')))).toBe(true);
    });

    it('the same delivery may consume a set of values again; another delivery consuming it is a REPLAY', async () => {
      const entries = [`message#${randomUUID()}`, `directive#${randomUUID()}`].map((value) => ({ value, expiresAtMs: later() }));
      await store.consumeAll(entries, 'sqs-delivery-1');
      await expect(store.consumeAll(entries, 'sqs-delivery-1')).resolves.toBeUndefined();
      expect(isReplay(await failure(store.consumeAll(entries, 'sqs-delivery-2')))).toBe(true);
    });
  });

  describe('consuming several values at once', () => {
    it('consumes several values all or none: a replayed one spends none of the others', async () => {
      const used = `directive#${randomUUID()}`;
      const fresh = `message#${randomUUID()}`;
      await store.consume(used, Date.now() + 60_000);
      const err = await failure(
        store.consumeAll([
          { value: fresh, expiresAtMs: Date.now() + 60_000 },
          { value: used, expiresAtMs: Date.now() + 60_000 },
        ]),
      );
      expect(isReplay(err)).toBe(true);
      expect((err as Error).message).toContain(used);
      expect(await stored(fresh)).toBeUndefined();
      await store.consumeAll([
        { value: fresh, expiresAtMs: Date.now() + 60_000 },
        { value: `directive#${randomUUID()}`, expiresAtMs: Date.now() + 60_000 },
      ]);
      expect(await stored(fresh)).toBeDefined();
    });

    it('the REPLAY names the used value also when it is the first of the set', async () => {
      const used = `message#${randomUUID()}`;
      await store.consume(used, later());
      const err = await failure(store.consumeAll([{ value: used, expiresAtMs: later() }, { value: `directive#${randomUUID()}`, expiresAtMs: later() }]));
      expect(isReplay(err)).toBe(true);
      expect((err as Error).message).toContain(used);
    });

    it('consuming an empty set succeeds without sending DynamoDB a transaction', async () => {
      await expect(storeWithCanceledTransactions([]).consumeAll([])).resolves.toBeUndefined();
    });
  });

  describe('an infrastructure fault is not a REPLAY', () => {
    it('surfaces an infrastructure fault as itself, not as a REPLAY', async () => {
      const missing = new SingleUseStore(doc, unique('no-such-table'), 'analyst');
      const err = await failure(missing.consume(`message#${randomUUID()}`, Date.now()));
      expect(isSecurityError(err)).toBe(false);
      expect((err as Error).name).toBe('ResourceNotFoundException');
    });

    it('a transaction cancelled by a conflict (no value already used) surfaces as itself, to be retried', async () => {
      const entries = [`message#${randomUUID()}`, `directive#${randomUUID()}`].map((value) => ({ value, expiresAtMs: later() }));
      const err = await failure(storeWithCanceledTransactions([{ Code: 'None' }, { Code: 'TransactionConflict' }]).consumeAll(entries));
      expect(isSecurityError(err)).toBe(false);
      expect(err).toBeInstanceOf(TransactionCanceledException);
    });

    it('a transaction cancelled without reasons surfaces as itself, to be retried', async () => {
      const entries = [`message#${randomUUID()}`, `directive#${randomUUID()}`].map((value) => ({ value, expiresAtMs: later() }));
      const err = await failure(storeWithCanceledTransactions(undefined).consumeAll(entries));
      expect(isSecurityError(err)).toBe(false);
      expect(err).toBeInstanceOf(TransactionCanceledException);
    });
  });
});
