import { generateKeyPairSync } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { LedgerEntry, hashEntry } from '../../../functions/kernel/ledger/entry';
import { checkConsistency, checkInclusion, entryLeaf, ledgerVerifierKey, proveConsistency, proveInclusion, treeHeadNoteOf } from '../../../functions/kernel/ledger/log-tree';
import { rootOf } from '../../../functions/kernel/ledger/merkle';
import { openTreeHead } from '../../../functions/kernel/ledger/tree-head';
import { atomicConditionalWrites } from './support';
import { Checkpointer } from '../../../functions/signer/checkpointer';
import { LedgerReader } from '../../../functions/kernel/ledger/ledger';
import { CheckpointFixture, checkpointFixture } from '../../support/checkpoints';

/**
 * The ledger as a Merkle tree (DESIGN §7): every checkpoint carries a tree head over the entries it covers, signed by
 * the authority key as a C2SP checkpoint; an inclusion proof of one entry is checked offline with the verifier key.
 */
let f: CheckpointFixture;
beforeAll(async () => {
  f = await checkpointFixture();
  atomicConditionalWrites(f.doc);
});

async function checkpointed(entries: number) {
  const c = f.chain(100);
  await c.append(entries);
  const outcome = await c.signer.checkpoint(true);
  if (outcome.status !== 'written') throw new Error('expected a checkpoint');
  const all = await c.reader.readAll();
  return { c, all, carrier: all[outcome.entrySeq - 1], vkey: f.signatures.verifierKey(c.name) };
}

describe('signed tree heads over the ledger', () => {
  it('every checkpoint carries a tree head over the entries it covers, signed by the authority, opened with the verifier key alone', async () => {
    const { c, all, carrier, vkey } = await checkpointed(5);
    const note = treeHeadNoteOf(carrier);
    expect(note).toBeDefined();
    const head = openTreeHead(note!, vkey);
    expect(head).toEqual({ origin: `agentsec.ledger/${c.name}`, size: 5, rootHash: rootOf(all.slice(0, 5).map(entryLeaf)) });
    expect(await c.verify()).toMatchObject({ ok: true, treeSize: 5, rootHash: head.rootHash.toString('base64') });
  });

  it('a forged tree head in a resealed checkpoint entry is refused at that entry', async () => {
    const { c, carrier } = await checkpointed(4);
    // Another root under the authority's name and key ID: the signature no longer verifies.
    const forged: LedgerEntry = { ...carrier, digests: { ...carrier.digests, treeRoot: Buffer.alloc(32, 7).toString('base64') } };
    const { hash: _old, ...unsealed } = forged;
    await f.doc.send(new PutCommand({ TableName: f.tables.ledger, Item: { ...unsealed, hash: hashEntry(unsealed) } }));
    expect(await c.verify()).toMatchObject({ ok: false, firstBadSeq: carrier.seq, reason: expect.stringMatching(/does not verify/) });
  });

  it('an inclusion proof of any entry checks offline, and only for that entry, that head and that key', async () => {
    const { all, carrier, vkey } = await checkpointed(7);
    const note = treeHeadNoteOf(carrier)!;
    for (const seq of [1, 4, 7]) {
      const proof = JSON.parse(JSON.stringify(proveInclusion(all, seq, 7, note, vkey)));
      expect(checkInclusion(proof, vkey)).toEqual({ ok: true, seq, treeSize: 7, origin: `agentsec.ledger/${carrier.chain}` });
    }
    const proof = JSON.parse(JSON.stringify(proveInclusion(all, 4, 7, note, vkey)));
    // The entry edited: its leaf is not in the signed tree.
    expect(checkInclusion({ ...proof, entry: { ...proof.entry, actor: 'carol' } }, vkey)).toMatchObject({ ok: false, reason: expect.stringMatching(/not in the signed tree/) });
    // Another entry presented at its place.
    expect(checkInclusion({ ...proof, entry: all[2] }, vkey)).toMatchObject({ ok: false });
    // A path element flipped.
    const path = [...proof.proof];
    path[0] = Buffer.alloc(32).toString('base64');
    expect(checkInclusion({ ...proof, proof: path }, vkey)).toMatchObject({ ok: false });
    // Another key: nobody else's head proves anything.
    const other = ledgerVerifierKey(carrier.chain, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    expect(checkInclusion(proof, other)).toMatchObject({ ok: false, reason: expect.stringMatching(/no signature/) });
    // A head rolled back to a smaller size under the same signature.
    expect(checkInclusion({ ...proof, checkpoint: proof.checkpoint.replace('\n7\n', '\n6\n') }, vkey)).toMatchObject({ ok: false });
    expect(checkInclusion({ nonsense: true }, vkey)).toEqual({ ok: false, reason: 'not an inclusion proof' });
  });

  it('a consistency proof between two signed heads checks offline; a fork signed by another key or with rewritten entries does not', async () => {
    const c = f.chain(100);
    await c.append(3);
    await c.signer.checkpoint(true);
    await c.append(4);
    await c.signer.checkpoint(true);
    const all = await c.reader.readAll();
    const [first, second] = all.filter((e) => e.type === 'checkpoint').map((e) => treeHeadNoteOf(e)!);
    const vkey = f.signatures.verifierKey(c.name);
    const proof = JSON.parse(JSON.stringify(proveConsistency(all, 3, first, 8, second, vkey)));
    expect(checkConsistency(proof, vkey)).toEqual({ ok: true, origin: `agentsec.ledger/${c.name}`, fromSize: 3, toSize: 8 });
    // A proof computed over a history whose first entries were rewritten does not lead from the signed first root.
    const rewritten = all.map((e) => (e.seq === 2 ? { ...e, actor: 'carol' } : e));
    const forked = JSON.parse(JSON.stringify(proveConsistency(rewritten, 3, first, 8, second, vkey)));
    expect(checkConsistency(forked, vkey)).toMatchObject({ ok: false, reason: expect.stringMatching(/rewritten between them/) });
    expect(checkConsistency(proof, ledgerVerifierKey(c.name, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey))).toMatchObject({ ok: false });
  });

  it('a checkpoint hashes only the entries since the anchored tree, so its cost does not grow with the ledger', async () => {
    const c = f.chain(100);
    const reads: string[] = [];
    const reader = new LedgerReader({ doc: f.doc, tableName: f.tables.ledger, chain: c.name });
    const counting = {
      head: () => reader.head(),
      readAll: () => (reads.push('all'), reader.readAll()),
      since: (seq: number) => (reads.push(`since ${seq}`), reader.since(seq)),
    };
    const checkpointer = new Checkpointer({ kms: f.kms, authorityKeyArn: f.authorityKeyArn, reader: counting, ledger: c.ledger, anchors: c.anchors, every: 1, actor: 'signer' });
    await c.append(5);
    await checkpointer.checkpoint();
    await c.append(3);
    await checkpointer.checkpoint();
    expect(reads).toEqual(['all', 'since 5']);
    expect((await c.anchors.load())?.tree).toMatchObject({ size: 9 });
    expect(await c.verify()).toMatchObject({ ok: true, checkpoints: 2, treeSize: 9 });
  });
});
