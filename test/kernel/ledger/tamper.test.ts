import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { LedgerEntry, hashEntry, linkEntry } from '../../../functions/kernel/ledger/entry';
import { LedgerReader, LedgerWriter } from '../../../functions/kernel/ledger/ledger';
import { verifyChain } from '../../../functions/kernel/ledger/verify-chain';
import { IN_PLACE_EDITS, copy, ledgerTable, sampleInput } from './support';

/**
 * Tampering as someone with write access to the table would do it (DESIGN §1, adversary 5 gone rogue): items
 * are rewritten, deleted and added with the SDK directly, then the chain is read back and verified.
 */
const N = 10;
let doc: DynamoDBDocumentClient;
let tableName: string;
let original: LedgerEntry[];

beforeEach(async () => {
  ({ doc, tableName } = await ledgerTable());
  const writer = new LedgerWriter({ doc, tableName });
  original = [];
  for (let i = 1; i <= N; i++) original.push(await writer.append(sampleInput(i)));
});

const store = (item: object) => doc.send(new PutCommand({ TableName: tableName, Item: { ...item } }));
const remove = (seq: number) => doc.send(new DeleteCommand({ TableName: tableName, Key: { chain: 'main', seq } }));
const verify = async () => verifyChain(await new LedgerReader({ doc, tableName }).readAll());

/** Rewrites the stored entries from `fromSeq` on with their seq moved by `by`, as an attacker making room or closing a gap. */
async function renumber(fromSeq: number, by: 1 | -1): Promise<void> {
  const moved = original.filter((e) => e.seq >= fromSeq);
  for (const e of by > 0 ? moved.reverse() : moved) await store({ ...e, seq: e.seq + by });
  if (by < 0) await remove(N);
}

describe('tampering with the stored ledger is detected at the right seq', () => {
  it('an edit of any field of any stored entry is detected at that seq', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: N }), fc.constantFrom(...Object.keys(IN_PLACE_EDITS)), async (seq, field) => {
        const edited = copy(original[seq - 1]) as Record<string, any>;
        IN_PLACE_EDITS[field](edited);
        await store(edited);
        try {
          expect(await verify()).toMatchObject({ ok: false, entries: N, firstBadSeq: seq });
        } finally {
          await store(original[seq - 1]);
        }
      }),
      { numRuns: 40 },
    );
    expect(await verify()).toMatchObject({ ok: true, entries: N });
  });

  it('a deleted entry is detected at its seq', async () => {
    await remove(4);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 4, reason: expect.stringContaining('missing') });
  });

  it('a deleted entry is detected at its seq even when the later entries are renumbered to close the gap', async () => {
    await renumber(5, -1);
    expect(await verify()).toMatchObject({ ok: false, entries: N - 1, firstBadSeq: 4 });
  });

  it('an inserted entry is detected at its seq, even when forged with a valid hash and link', async () => {
    await renumber(6, 1);
    await store(linkEntry(original[4], { type: 'approval.recorded', actor: 'mallory', commandId: 'cmd-1' }, { chain: 'main', at: new Date() }));
    expect(await verify()).toMatchObject({ ok: false, entries: N + 1, firstBadSeq: 6, reason: expect.stringContaining('inserted') });
  });

  it('a replayed copy of an earlier entry inserted later is detected at its seq', async () => {
    await renumber(7, 1);
    await store({ ...original[1], seq: 7 });
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 7 });
  });

  it('two reordered entries are detected at the first of them', async () => {
    await store({ ...original[2], seq: 4 });
    await store({ ...original[3], seq: 3 });
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 3 });
  });

  it('an entry moved to another seq is detected where it is missing', async () => {
    await remove(8);
    await store({ ...original[7], seq: N + 3 });
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 8 });
  });

  it('an entry rewritten with a recomputed hash is named, by the broken link of the next entry', async () => {
    const forged = { ...copy(original[2]), actor: 'mallory' };
    await store({ ...forged, hash: hashEntry(forged) });
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 3, reason: expect.stringContaining('seq 4 no longer links to it') });
  });
});
