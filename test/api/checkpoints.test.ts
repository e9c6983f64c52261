import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { checkpointEntry, signCheckpoint } from '../../functions/kernel/ledger/checkpoints';
import { ApiFixture, apiFixture, commandBody } from './support';
import { createSigningKey } from '../support/aws';

let f: ApiFixture;

beforeAll(async () => {
  f = await apiFixture();
  for (let i = 0; i < 3; i++) {
    expect((await f.call({ method: 'POST', path: '/v1/commands', claims: f.user('bob'), body: commandBody(`task ${i}`, 'CONFIDENTIAL') })).status).toBe(202);
  }
  await f.sealed();
});

const checkpoint = (username: string, body?: unknown) => f.call({ method: 'POST', path: '/v1/audit/checkpoints', claims: f.user(username), body });
const verify = () => f.call({ method: 'GET', path: '/v1/audit/verify', claims: f.user('alice') });

describe('POST /v1/audit/checkpoints', () => {
  test('is 403 for bob, who is neither TOP_SECRET nor an approver, and nothing is signed', async () => {
    const res = await checkpoint('bob');
    expect(res.status).toBe(403);
    expect((await f.ledgerEntries()).map((e) => e.type)).not.toContain('checkpoint');
  });

  test('a body other than {} is 400', async () => {
    expect((await checkpoint('alice', { force: false })).status).toBe(400);
    expect((await checkpoint('alice', 'not json')).status).toBe(400);
  });

  test('an auditor has the signer checkpoint the ledger now; an approver too, once something is new', async () => {
    const res = await checkpoint('alice', {});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'written', entrySeq: 4, checkpoint: { chain: 'main', seq: 3 } });
    expect((await checkpoint('carol')).body).toEqual({ status: 'not_due', head: 4, lastCheckpoint: 4 });
    await f.call({ method: 'POST', path: '/v1/commands', claims: f.user('bob'), body: commandBody('one more', 'CONFIDENTIAL') });
    await f.sealed();
    expect((await checkpoint('carol')).body).toMatchObject({ status: 'written', entrySeq: 6 });
    expect(await verify()).toMatchObject({ status: 200, body: { ok: true, entries: 6, checkpoints: 2, firstBadSeq: null } });
  });
});

describe('GET /v1/audit/verify checks signatures and truncation by default', () => {
  test('a checkpoint signed by another key fails at its seq', async () => {
    const impostor = await createSigningKey(f.kms);
    const head = (await f.ledgerEntries()).at(-1)!;
    const forged = await signCheckpoint(f.kms, impostor, { chain: 'main', seq: head.seq, hash: head.hash });
    const entry = await f.ledger.append(checkpointEntry(forged, 'signer'));
    expect((await verify()).body).toMatchObject({ ok: false, firstBadSeq: entry.seq, checkpoints: 2 });
  });

  test('deleting the tail after a checkpoint, the checkpoint included, is reported as truncation', async () => {
    const entries = await f.ledgerEntries();
    const doomed = entries.filter((e) => e.seq >= 6).map((e) => ({ DeleteRequest: { Key: { chain: 'main', seq: e.seq } } }));
    await f.doc.send(new BatchWriteCommand({ RequestItems: { [f.tables.ledger]: doomed } }));
    expect((await verify()).body).toEqual({ ok: false, entries: 5, checkpoints: 1, firstBadSeq: 6, reason: expect.stringMatching(/^truncated/), treeSize: 3, rootHash: expect.any(String), latestHeadAt: expect.any(String) });
  });
});
