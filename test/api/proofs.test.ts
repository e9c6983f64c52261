import { ApiFixture, apiFixture, commandBody } from './support';
import { checkConsistency, checkInclusion } from '../../functions/kernel/ledger/log-tree';

/** `GET /v1/audit/proofs/{seq}` (DESIGN §7): an entry's inclusion proof under a signed tree head, checked offline. */
let f: ApiFixture;

beforeAll(async () => {
  f = await apiFixture();
  for (let i = 0; i < 3; i++) {
    const res = await f.call({ method: 'POST', path: '/v1/commands', claims: f.user('bob'), body: commandBody(`task ${i}`, 'CONFIDENTIAL') });
    expect(res.status).toBe(202);
  }
  await f.sealed();
});

const prove = (seq: string, username = 'alice') => f.call({ method: 'GET', path: `/v1/audit/proofs/${seq}`, claims: f.user(username) });

describe('GET /v1/audit/proofs/{seq}', () => {
  test('an entry no signed tree head covers yet is 409 with a reason, and proves once the signer checkpointed', async () => {
    const early = await prove('2');
    expect(early.status).toBe(409);
    expect(early.body.message).toMatch(/not yet covered by a signed tree head/);
    expect(await f.signer.checkpoint(true)).toMatchObject({ status: 'written', entrySeq: 4 });
    const res = await prove('2');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ leafIndex: 1, treeSize: 3, entry: { seq: 2, type: 'command.accepted' } });
    // Offline, with only the verifier key: what an auditor outside AWS would run (`agentsec audit check-proof`).
    expect(checkInclusion(res.body, res.body.verifierKey)).toMatchObject({ ok: true, seq: 2, treeSize: 3 });
  });

  test('an entry the ledger does not hold is 404; a malformed seq is 400; a non-auditor is 403', async () => {
    expect((await prove('999')).status).toBe(404);
    for (const bad of ['0', '-1', 'abc', '1.5']) {
      const res = await prove(bad);
      expect(res.status).toBe(400);
      expect(res.body.reason).toBe('SCHEMA');
    }
    expect((await prove('1', 'bob')).status).toBe(403);
  });
});

describe('GET /v1/audit/consistency', () => {
  const consistency = (query: Record<string, string>, username = 'alice') =>
    f.call({ method: 'GET', path: '/v1/audit/consistency', claims: f.user(username), query });

  test('two signed tree heads and the proof the later extends the earlier, checked offline; a fork is refused', async () => {
    // The first test signed a head over 3 entries (its checkpoint is entry 4); one more command, one more head.
    const res0 = await f.call({ method: 'POST', path: '/v1/commands', claims: f.user('bob'), body: commandBody('one more', 'CONFIDENTIAL') });
    expect(res0.status).toBe(202);
    await f.sealed();
    expect(await f.signer.checkpoint(true)).toMatchObject({ status: 'written', entrySeq: 6 });
    const res = await consistency({ from: '3', to: '5' });
    expect(res.status).toBe(200);
    expect(checkConsistency(res.body, res.body.verifierKey)).toEqual({ ok: true, origin: 'agentsec.ledger/main', fromSize: 3, toSize: 5 });
    // Heads swapped: a rollback.
    expect(checkConsistency({ ...res.body, from: res.body.to, to: res.body.from }, res.body.verifierKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/rollback/) });
    // The same head twice with the proof between two others: not consistent.
    expect(checkConsistency({ ...res.body, to: res.body.from }, res.body.verifierKey)).toMatchObject({ ok: false });
    const same = await consistency({ from: '5', to: '5' });
    expect(checkConsistency(same.body, same.body.verifierKey)).toMatchObject({ ok: true, fromSize: 5, toSize: 5 });
  });

  test('a size no signed head has is 404; from above to, a missing or malformed size is 400; a non-auditor is 403', async () => {
    expect((await consistency({ from: '2', to: '5' })).status).toBe(404);
    const malformed: Array<Record<string, string>> = [{ from: '5', to: '3' }, { from: '3' }, { from: 'x', to: '5' }, { from: '3', to: '5', extra: '1' }];
    for (const bad of malformed) {
      const res = await consistency(bad);
      expect(res.status).toBe(400);
      expect(res.body.reason).toBe('SCHEMA');
    }
    expect((await consistency({ from: '3', to: '5' }, 'bob')).status).toBe(403);
  });
});
