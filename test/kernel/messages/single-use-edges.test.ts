import { randomUUID } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { isSecurityError } from '../../../functions/kernel/errors';
import { SingleUseStore } from '../../../functions/kernel/messages/single-use';
import { TABLES } from '../../../functions/kernel/tables';
import { createTable, dynamo, unique } from '../../support/aws';

/** Single use under redelivery and transaction faults (DESIGN §4, §5). */

let table: string;
beforeAll(async () => {
  table = await createTable(unique('nonces'), TABLES.nonces.partitionKey);
});

const store = () => new SingleUseStore(DynamoDBDocumentClient.from(dynamo()), table);
const failure = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err);
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
  return new SingleUseStore(DynamoDBDocumentClient.from(client), table);
}

describe('a delivery named by its transport id', () => {
  it('the same delivery consuming again is a redelivery, not a replay', async () => {
    const value = `message#${randomUUID()}`;
    await store().consume(value, later(), 'sqs-delivery-1');
    await expect(store().consume(value, later(), 'sqs-delivery-1')).resolves.toBeUndefined();
  });

  it('the record names the delivery that consumed the value', async () => {
    const value = `message#${randomUUID()}`;
    await store().consume(value, later(), 'sqs-delivery-1');
    const { Item } = await DynamoDBDocumentClient.from(dynamo()).send(new GetCommand({ TableName: table, Key: { [TABLES.nonces.partitionKey]: value } }));
    expect(Item).toMatchObject({ consumedBy: 'sqs-delivery-1' });
  });

  it('another delivery consuming the same value is a REPLAY', async () => {
    const value = `message#${randomUUID()}`;
    await store().consume(value, later(), 'sqs-delivery-1');
    expect(isSecurityError(await failure(store().consume(value, later(), 'sqs-delivery-2')), 'REPLAY')).toBe(true);
    expect(isSecurityError(await failure(store().consume(value, later())), 'REPLAY')).toBe(true);
  });

  it('a value consumed without a delivery name is a REPLAY for every named delivery', async () => {
    const value = `directive#${randomUUID()}`;
    await store().consume(value, later());
    expect(isSecurityError(await failure(store().consume(value, later(), 'sqs-delivery-1')), 'REPLAY')).toBe(true);
  });

  it('a redelivery consumes a set of values again; another delivery is a REPLAY', async () => {
    const entries = [`message#${randomUUID()}`, `directive#${randomUUID()}`].map((value) => ({ value, expiresAtMs: later() }));
    await store().consumeAll(entries, 'sqs-delivery-1');
    await expect(store().consumeAll(entries, 'sqs-delivery-1')).resolves.toBeUndefined();
    expect(isSecurityError(await failure(store().consumeAll(entries, 'sqs-delivery-2')), 'REPLAY')).toBe(true);
  });
});

describe('consuming several values at once', () => {
  it('names the first value when it is the one already used (REPLAY)', async () => {
    const used = `message#${randomUUID()}`;
    await store().consume(used, later());
    const err = await failure(store().consumeAll([{ value: used, expiresAtMs: later() }, { value: `directive#${randomUUID()}`, expiresAtMs: later() }]));
    expect(isSecurityError(err, 'REPLAY')).toBe(true);
    expect((err as Error).message).toContain(used);
  });

  it('consuming nothing succeeds and asks nothing of DynamoDB', async () => {
    await expect(storeWithCanceledTransactions([]).consumeAll([])).resolves.toBeUndefined();
  });

  it('a transaction cancelled by a conflict is a fault to retry, not a REPLAY', async () => {
    const entries = [`message#${randomUUID()}`, `directive#${randomUUID()}`].map((value) => ({ value, expiresAtMs: later() }));
    const err = await failure(storeWithCanceledTransactions([{ Code: 'None' }, { Code: 'TransactionConflict' }]).consumeAll(entries));
    expect(isSecurityError(err)).toBe(false);
    expect(err).toBeInstanceOf(TransactionCanceledException);
  });

  it('a cancelled transaction without reasons is a fault to retry, not a REPLAY', async () => {
    const entries = [`message#${randomUUID()}`, `directive#${randomUUID()}`].map((value) => ({ value, expiresAtMs: later() }));
    const err = await failure(storeWithCanceledTransactions(undefined).consumeAll(entries));
    expect(isSecurityError(err)).toBe(false);
    expect(err).toBeInstanceOf(TransactionCanceledException);
  });
});
