import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { isSecurityError } from '../../../functions/kernel/errors';
import { SingleUseStore } from '../../../functions/kernel/messages/single-use';
import { TABLES } from '../../../functions/kernel/tables';
import { createTable, documentClient, unique } from '../../support/aws';

const doc = documentClient();
let table: string;
let store: SingleUseStore;

beforeAll(async () => {
  table = await createTable(unique('nonces'), TABLES.nonces.partitionKey);
  store = new SingleUseStore(doc, table);
});

const isReplay = (err: unknown) => isSecurityError(err, 'REPLAY');
const failure = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err);
const stored = async (value: string) => (await doc.send(new GetCommand({ TableName: table, Key: { [TABLES.nonces.partitionKey]: value } }))).Item;

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

  it('surfaces an infrastructure fault as itself, not as a REPLAY', async () => {
    const missing = new SingleUseStore(doc, unique('no-such-table'));
    const err = await failure(missing.consume(`message#${randomUUID()}`, Date.now()));
    expect(isSecurityError(err)).toBe(false);
    expect((err as Error).name).toBe('ResourceNotFoundException');
  });
});
