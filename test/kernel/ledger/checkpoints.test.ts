import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { GetPublicKeyCommand } from '@aws-sdk/client-kms';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import canonicalize from 'canonicalize';
import { anchorPartition } from '../../../functions/kernel/ledger/checkpoint-anchor';
import { CheckpointOutcome, SignedCheckpoint, checkpointEntry, signCheckpoint } from '../../../functions/kernel/ledger/checkpoints';
import { verifyChain } from '../../../functions/kernel/ledger/verify-chain';
import { atomicConditionalWrites } from './support';
import { createSigningKey } from '../../support/aws';
import { CheckpointFixture, checkpointFixture } from '../../support/checkpoints';

let f: CheckpointFixture;
beforeAll(async () => {
  f = await checkpointFixture();
  // DynamoDB's conditional writes are atomic; the emulator's are not unless serialized.
  atomicConditionalWrites(f.doc);
});

function written(outcome: CheckpointOutcome): { checkpoint: SignedCheckpoint; entrySeq: number } {
  if (outcome.status !== 'written') throw new Error(`expected a checkpoint, got ${JSON.stringify(outcome)}`);
  return { checkpoint: outcome.checkpoint, entrySeq: outcome.entrySeq };
}

describe('the signer checkpoints the ledger every N entries and on demand', () => {
  test('a checkpoint is written once checkpointEvery entries are new, and not before', async () => {
    const c = f.chain(3);
    await c.append(2);
    expect(await c.signer.checkpoint()).toEqual({ status: 'not_due', head: 2, lastCheckpoint: null });
    await c.append(1);
    const first = written(await c.signer.checkpoint());
    expect(first).toMatchObject({ entrySeq: 4, checkpoint: { chain: c.name, seq: 3, keyId: f.authorityKeyArn } });
    // The checkpoint entry itself is not news.
    expect(await c.signer.checkpoint()).toEqual({ status: 'not_due', head: 4, lastCheckpoint: 4 });
    await c.append(2);
    expect(await c.signer.checkpoint()).toEqual({ status: 'not_due', head: 6, lastCheckpoint: 4 });
    await c.append(1);
    expect(written(await c.signer.checkpoint())).toMatchObject({ entrySeq: 8, checkpoint: { seq: 7 } });

    const entries = await c.reader.readAll();
    expect(entries.filter((e) => e.type === 'checkpoint').map((e) => [e.seq, e.actor, e.detail?.seq])).toEqual([
      [4, 'signer', 3],
      [8, 'signer', 7],
    ]);
    expect(entries[3].digests?.hash).toBe(entries[2].hash);
    // Each checkpoint signs twice: the {chain, seq, hash} statement and the tree head over the same entries.
    expect(c.kmsCalls.filter((n) => n === 'Sign')).toHaveLength(4);
  });

  test('a forced checkpoint is written on demand whatever the count; with nothing new nothing is signed', async () => {
    const c = f.chain(50);
    expect(await c.signer.checkpoint(true)).toEqual({ status: 'not_due', head: 0, lastCheckpoint: null });
    await c.append(1);
    expect(written(await c.signer.checkpoint(true))).toMatchObject({ entrySeq: 2, checkpoint: { seq: 1 } });
    expect(await c.signer.checkpoint(true)).toEqual({ status: 'not_due', head: 2, lastCheckpoint: 2 });
    expect(c.kmsCalls.filter((n) => n === 'Sign')).toHaveLength(2);
  });

  test('a checkpoint entry appended by anyone else neither counts as a checkpoint nor delays the next one', async () => {
    const c = f.chain(3);
    await c.append(2);
    await c.ledger.append({ type: 'checkpoint', actor: 'core', detail: { seq: 2 } });
    expect(written(await c.signer.checkpoint())).toMatchObject({ entrySeq: 4, checkpoint: { seq: 3 } });
    expect(await c.verify()).toMatchObject({ ok: false, firstBadSeq: 3, checkpoints: 0 });
  });

  test('concurrent checkpoints by several signers leave one verifiable chain and an anchor on one of them', async () => {
    const c = f.chain(50);
    await c.append(3);
    const outcomes = await Promise.all([c.signer, c.makeSigner(), c.makeSigner()].map((s) => s.checkpoint(true)));
    const checkpoints = outcomes.filter((o) => o.status === 'written').map(written);
    expect(checkpoints.length).toBeGreaterThanOrEqual(1);
    // The anchor also keeps the right edge of the signed tree; the checkpoint is one of those written.
    const { tree: _tree, ...anchored } = (await c.anchors.load())!;
    expect(checkpoints).toContainEqual(anchored);
    expect(await c.verify()).toMatchObject({ ok: true, checkpoints: checkpoints.length });
  });

  test("a checkpoint's signature verifies with the authority's public key over {chain, seq, hash}", async () => {
    const c = f.chain(2);
    await c.append(2);
    const { checkpoint } = written(await c.signer.checkpoint());
    // Independently of the kernel: the public key from KMS, the message as RFC 8785 JSON.
    const { PublicKey } = await f.kms.send(new GetPublicKeyCommand({ KeyId: f.authorityKeyArn }));
    const key = createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' });
    const message = Buffer.from(canonicalize({ chain: c.name, seq: 2, hash: checkpoint.hash })!, 'utf8');
    expect(verifySignature('sha256', message, { key, dsaEncoding: 'der' }, Buffer.from(checkpoint.signature, 'base64'))).toBe(true);
    expect(await c.verify()).toEqual({ ok: true, entries: 3, checkpoints: 1, firstBadSeq: null, treeSize: 2, rootHash: expect.any(String), latestHeadAt: expect.any(String) });
  });
});

describe('verification rejects forged checkpoints at their seq', () => {
  test('a checkpoint signed by another key makes verify fail at its seq', async () => {
    const impostorArn = await createSigningKey(f.kms);
    for (const claimedKey of ['authority', 'impostor'] as const) {
      const c = f.chain(50);
      await c.append(3);
      const head = (await c.reader.head())!;
      const forged = await signCheckpoint(f.kms, impostorArn, { chain: c.name, seq: head.seq, hash: head.hash });
      const keyId = claimedKey === 'authority' ? f.authorityKeyArn : impostorArn;
      await c.ledger.append(checkpointEntry({ ...forged, keyId }, 'signer'));
      expect(await c.verify()).toMatchObject({ ok: false, firstBadSeq: 4, checkpoints: 0, reason: expect.stringContaining('checkpoint') });
    }
  });

  test('a checkpoint whose covered seq or hash was edited makes verify fail at its seq', async () => {
    const c = f.chain(50);
    await c.append(3);
    const { checkpoint } = written(await c.signer.checkpoint(true));
    await c.append(1);
    const entries = await c.reader.readAll();
    // The genuine signature, over another seq and hash of the same chain.
    await c.ledger.append(checkpointEntry({ ...checkpoint, seq: 5, hash: entries[4].hash }, 'signer'));
    expect(await c.verify()).toMatchObject({ ok: false, firstBadSeq: 6, checkpoints: 1 });
  });

  test('a checkpoint the authority signed over a hash the chain no longer holds names the first entry it no longer vouches for', async () => {
    const c = f.chain(50);
    await c.append(3);
    const signed = await signCheckpoint(f.kms, f.authorityKeyArn, { chain: c.name, seq: 2, hash: 'f'.repeat(64) });
    await c.ledger.append(checkpointEntry(signed, 'signer'));
    expect(await c.verify()).toMatchObject({ ok: false, firstBadSeq: 1, reason: expect.stringContaining('seq 1 to 2 were rewritten') });
  });

  test('entries rewritten and re-chained after a verified checkpoint are named from the first one it does not cover', async () => {
    const c = f.chain(50);
    await c.append(3);
    const first = await signCheckpoint(f.kms, f.authorityKeyArn, { chain: c.name, seq: 3, hash: (await c.reader.readAll())[2].hash });
    await c.ledger.append(checkpointEntry(first, 'signer'));
    await c.append(3);
    // What the authority signed over seq 6 before entries 5 and 6 were rewritten and re-chained.
    const later = await signCheckpoint(f.kms, f.authorityKeyArn, { chain: c.name, seq: 6, hash: 'e'.repeat(64) });
    await c.ledger.append(checkpointEntry(later, 'signer'));
    expect(await c.verify()).toMatchObject({ ok: false, firstBadSeq: 4, checkpoints: 1 });
  });
});

describe('the anchor detects truncation of the tail', () => {
  test('deleting the tail after a checkpoint, the checkpoint entry included, is detected as truncation via the anchor', async () => {
    const c = f.chain(3);
    await c.append(3);
    expect(written(await c.signer.checkpoint()).entrySeq).toBe(4);
    await c.append(2);

    await c.deleteFrom(4);
    // The chain alone cannot tell: what is left is a valid chain.
    expect(verifyChain(await c.reader.readAll(), { verifyCheckpoint: f.signatures.verifyCheckpoint })).toMatchObject({ ok: true });
    expect(await c.verify()).toEqual({ ok: false, entries: 3, checkpoints: 0, firstBadSeq: 4, reason: expect.stringMatching(/^truncated/), treeSize: 0, rootHash: null, latestHeadAt: null });

    await c.deleteFrom(2);
    expect(await c.verify()).toMatchObject({ ok: false, firstBadSeq: 2, reason: expect.stringMatching(/^truncated/) });
  });

  test('the signer refuses to checkpoint a chain shorter than its anchor', async () => {
    const c = f.chain(1);
    await c.append(2);
    written(await c.signer.checkpoint());
    await c.deleteFrom(2);
    await expect(c.signer.checkpoint(true)).rejects.toMatchObject({ name: 'SecurityError', reason: 'CHAIN_BROKEN' });
  });

  test('a chain truncated and grown again does not match its anchor', async () => {
    const c = f.chain(3);
    await c.append(3);
    written(await c.signer.checkpoint()); // entry 4 over seq 3
    await c.append(3);
    written(await c.signer.checkpoint()); // entry 8 over seq 7
    await c.deleteFrom(6);
    await c.writer().append({ type: 'message.sent', actor: 'core', detail: { to: 'scheduler' } });
    for (let i = 0; i < 4; i++) await c.writer().append({ type: 'tool.executed', actor: 'scheduler', detail: { i } });
    const result = await c.verify();
    expect(result).toMatchObject({ ok: false, entries: 10, firstBadSeq: 4, reason: expect.stringContaining('does not match its anchored checkpoint') });
  });

  test('rolling back the anchor to an older checkpoint is refused by its conditional write', async () => {
    const c = f.chain(2);
    await c.append(2);
    const older = written(await c.signer.checkpoint());
    await c.append(2);
    const newer = written(await c.signer.checkpoint());
    expect(await c.anchors.load()).toEqual({ ...newer, tree: { size: 5, nodes: [expect.any(String), expect.any(String)] } });

    expect(await c.anchors.advance(older)).toBe(false);
    expect(await c.anchors.advance(newer)).toBe(false);
    expect(await c.anchors.load()).toMatchObject(newer);
  });

  test('a missing anchor is reported once the chain holds checkpoints', async () => {
    const c = f.chain(2);
    await c.append(2);
    expect(await c.verify()).toMatchObject({ ok: true, checkpoints: 0 });
    written(await c.signer.checkpoint());
    await c.deleteAnchor();
    expect(await c.verify()).toMatchObject({ ok: false, firstBadSeq: 4, reason: expect.stringContaining('anchor is missing') });
  });

  test('an anchor not signed by the authority, or malformed, is refused', async () => {
    const c = f.chain(2);
    await c.append(2);
    const { checkpoint, entrySeq } = written(await c.signer.checkpoint());
    await c.append(1);
    const key = { chain: anchorPartition(c.name), seq: 0 };
    const put = (item: Record<string, unknown>) => f.doc.send(new PutCommand({ TableName: f.tables.ledger, Item: { ...key, ...item } }));

    // An anchor moved back to seq 1, with the signature it had: its statement no longer verifies.
    await put({ checkpoint: { ...checkpoint, seq: 1, hash: (await c.reader.readAll())[0].hash }, entrySeq: 2 });
    expect(await c.verify()).toMatchObject({ ok: false, firstBadSeq: 5, reason: expect.stringContaining('not signed by the authority') });

    await put({ checkpoint: 'garbage', entrySeq });
    expect(await c.verify()).toMatchObject({ ok: false, firstBadSeq: 5, reason: expect.stringContaining('not signed by the authority') });
  });
});
