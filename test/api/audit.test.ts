import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ApiFixture, apiFixture, commandBody } from './support';

let f: ApiFixture;

beforeAll(async () => {
  f = await apiFixture();
  // Five commands and one rejection: six entries before any test runs.
  for (let i = 0; i < 5; i++) {
    const res = await f.call({ method: 'POST', path: '/v1/commands', claims: f.user('bob'), body: commandBody(`task ${i}`, 'CONFIDENTIAL') });
    expect(res.status).toBe(202);
  }
  await f.call({ method: 'POST', path: '/v1/commands', claims: f.user('bob'), body: commandBody('above me', 'TOP_SECRET') });
  // The API appends pending entries; the audit routes read the sealed log.
  await f.sealed();
});

const audit = (claims: Record<string, string>, query?: Record<string, string>) =>
  f.call({ method: 'GET', path: '/v1/audit', claims, query });

describe('GET /v1/audit', () => {
  test('a TOP_SECRET auditor reads the ledger, oldest first, with reasons on rejections', async () => {
    const res = await audit(f.user('alice'));
    expect(res.status).toBe(200);
    expect(res.body.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(res.body[0]).toMatchObject({ seq: 1, type: 'command.accepted', actor: 'api', commandId: expect.any(String) });
    expect(res.body[5]).toMatchObject({ type: 'message.rejected', reason: 'NOT_AUTHORIZED' });
  });

  test('an approver without TOP_SECRET clearance reads the ledger', async () => {
    const res = await audit(f.user('carol'));
    expect(res.status).toBe(200);
  });

  test('a user who is neither TOP_SECRET nor an approver cannot read the ledger (403)', async () => {
    expect((await audit(f.user('bob'))).status).toBe(403);
  });

  test('since and limit page through the ledger', async () => {
    const page = await audit(f.user('alice'), { since: '2', limit: '3' });
    expect(page.status).toBe(200);
    expect(page.body.map((e: { seq: number }) => e.seq)).toEqual([3, 4, 5]);
    const rest = await audit(f.user('alice'), { since: '5' });
    expect(rest.body.map((e: { seq: number }) => e.seq)).toEqual([6]);
  });

  test.each([
    ['limit 0', { limit: '0' }],
    ['limit above 1000', { limit: '1001' }],
    ['a negative since', { since: '-1' }],
    ['a non-numeric limit', { limit: 'all' }],
    ['an unknown parameter', { type: 'checkpoint' }],
  ])('a malformed audit query is 400: %s', async (_what, query) => {
    const res = await audit(f.user('alice'), query);
    expect(res.status).toBe(400);
    expect(res.body.reason).toBe('SCHEMA');
  });
});

describe('GET /v1/audit/verify', () => {
  const verify = (username: string) => f.call({ method: 'GET', path: '/v1/audit/verify', claims: f.user(username) });

  test('is for auditors and approvers only', async () => {
    expect((await verify('bob')).status).toBe(403);
    expect((await verify('carol')).status).toBe(200);
  });

  test('an intact ledger verifies with the shape of `audit verify --json`, counting checkpoints', async () => {
    expect(await f.signer.checkpoint(true)).toMatchObject({ status: 'written', entrySeq: 7 });
    const res = await verify('alice');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, entries: 7, checkpoints: 1, firstBadSeq: null, treeSize: 6, rootHash: expect.any(String), latestHeadAt: expect.any(String) });
  });

  test('an edited entry is named as the first bad one', async () => {
    await f.doc.send(
      new UpdateCommand({
        TableName: f.tables.ledger,
        Key: { chain: 'main', seq: 4 },
        UpdateExpression: 'SET actor = :a',
        ExpressionAttributeValues: { ':a': 'mallory' },
      }),
    );
    const res = await verify('alice');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: false, firstBadSeq: 4, entries: expect.any(Number) });
  });
});
