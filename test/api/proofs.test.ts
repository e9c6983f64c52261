import { ApiFixture, apiFixture, commandBody } from './support';
import { checkInclusion } from '../../functions/kernel/ledger/log-tree';

/** `GET /v1/audit/proofs/{seq}` (DESIGN §7): an entry's inclusion proof under a signed tree head, checked offline. */
let f: ApiFixture;

beforeAll(async () => {
  f = await apiFixture();
  for (let i = 0; i < 3; i++) {
    const res = await f.call({ method: 'POST', path: '/v1/commands', claims: f.user('bob'), body: commandBody(`task ${i}`, 'CONFIDENTIAL') });
    expect(res.status).toBe(202);
  }
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
