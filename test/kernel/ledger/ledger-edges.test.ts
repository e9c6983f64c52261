import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isSecurityError } from '../../../functions/kernel/errors';
import {
  LedgerContentionError,
  LedgerEntry,
  LedgerReader,
  LedgerWriter,
  MAX_DETAIL_WORDS,
  hashEntry,
  linkEntry,
  parseLedgerEntryInput,
  verifyChain,
} from '../../../functions/kernel/ledger/ledger';
import { buildChain, digest, ledgerTable, sampleInput } from './support';

/** Ledger properties at their edges: the metadata policy's limits, the shape of stored entries, what verification reports. */

const accepted = (detail: Record<string, string>) => {
  try {
    parseLedgerEntryInput({ type: 'message.sent', actor: 'core', detail });
    return true;
  } catch (err) {
    if (isSecurityError(err, 'SCHEMA')) return false;
    throw err;
  }
};
const words = (n: number, separator = ' ') => Array.from({ length: n }, (_, i) => `w${i}`).join(separator);

describe('detail text is a handful of words, never prose (DESIGN §7)', () => {
  it(`accepts exactly ${MAX_DETAIL_WORDS} words and refuses one more`, () => {
    expect(accepted({ note: words(MAX_DETAIL_WORDS) })).toBe(true);
    expect(accepted({ note: words(MAX_DETAIL_WORDS + 1) })).toBe(false);
  });

  it('counts words, not the spaces around or between them', () => {
    expect(accepted({ note: `  ${words(MAX_DETAIL_WORDS)}  ` })).toBe(true);
    expect(accepted({ note: words(MAX_DETAIL_WORDS, '   ') })).toBe(true);
  });

  it('accepts at most 16 digests and 32 detail fields', () => {
    const digests = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i}`, digest(String(i))]));
    const detail = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i]));
    const entry = (o: object) => () => parseLedgerEntryInput({ type: 'message.sent', actor: 'core', ...o });
    expect(entry({ digests: digests(16) })).not.toThrow();
    expect(entry({ digests: digests(17) })).toThrow(/SCHEMA/);
    expect(entry({ detail: detail(32) })).not.toThrow();
    expect(entry({ detail: detail(33) })).toThrow(/SCHEMA/);
  });
});

describe('digests are digests and field names are names: nothing else rides along (DESIGN §7)', () => {
  const entry = (o: object) => () => parseLedgerEntryInput({ type: 'message.sent', actor: 'core', ...o });
  const hex = digest('content');

  it.each([
    ['text after a digest', `${hex} patient John Smith`],
    ['text before a digest', `John Smith ${hex}`],
    ['a few hex characters', 'abc'],
    ['a single hex character', 'a'],
    ['forty spaces', ' '.repeat(40)],
  ])('refuses a digest value with %s', (_what, value) => {
    expect(entry({ digests: { content: value } })).toThrow(/SCHEMA/);
  });

  it('accepts hex and base64 digests', () => {
    expect(entry({ digests: { hex, b64: Buffer.from(hex, 'hex').toString('base64') } })).not.toThrow();
  });

  it.each(['-x', 'x-', 'two words', '_x'])('refuses the field name %j', (name) => {
    expect(entry({ detail: { [name]: 1 } })).toThrow(/SCHEMA/);
    expect(entry({ digests: { [name]: hex } })).toThrow(/SCHEMA/);
  });
});

/** `entry` with `change` applied and its own hash recomputed: what someone who can write the table can store. */
function resealed(entry: LedgerEntry, change: (e: Record<string, unknown>) => void): LedgerEntry {
  const { hash: _old, ...copy } = entry as LedgerEntry & Record<string, unknown>;
  change(copy);
  return { ...copy, hash: hashEntry(copy as never) } as LedgerEntry;
}

describe('an entry that is not an entry is bad even with a matching hash (one canonical form per entry)', () => {
  const [first] = buildChain(1);

  it.each<[string, (e: Record<string, unknown>) => void]>([
    ['a number where text belongs', (e) => (e.actor = 42)],
    ['a required field missing', (e) => delete e.actor],
    ['an optional field of the wrong type', (e) => (e.commandId = 7)],
    ['a field no entry has', (e) => (e.note = 'added later')],
    ['a DynamoDB set where digests belong', (e) => (e.digests = new Set(['a']))],
  ])('refuses an entry with %s', (_what, change) => {
    expect(verifyChain([resealed(first, change)])).toMatchObject({ ok: false, firstBadSeq: 1 });
  });

  it('refuses a missing entry object instead of failing', () => {
    expect(verifyChain([undefined as unknown as LedgerEntry])).toMatchObject({ ok: false, firstBadSeq: 1 });
  });

  it('accepts entries without a prototype, as any plain record', () => {
    const chain = buildChain(2).map((e) => Object.assign(Object.create(null) as LedgerEntry, e));
    expect(verifyChain(chain)).toMatchObject({ ok: true, entries: 2 });
  });
});

describe('an entry has a hash only when it has a canonical form', () => {
  it('refuses (SCHEMA) to hash an entry that serializes to nothing, instead of hashing nothing', () => {
    const hollow = { ...sampleInput(1), toJSON: () => undefined } as unknown as Parameters<typeof hashEntry>[0];
    expect(() => hashEntry(hollow)).toThrow(/^SCHEMA/);
  });
});

describe('verification says what happened at the first bad entry', () => {
  const [e1, e2, e3] = buildChain(3);

  it('an entry numbered below 1 is malformed, not merely out of order', () => {
    expect(verifyChain([resealed(e1, (e) => (e.seq = 0))])).toMatchObject({ ok: false, firstBadSeq: 1, reason: expect.stringMatching(/malformed/) });
  });

  it('a deleted entry is missing', () => {
    expect(verifyChain([e1, e3]).reason).toMatch(/^seq 2 missing/);
  });

  it('a repeated entry is out of order or repeated', () => {
    expect(verifyChain([e1, e2, e2]).reason).toMatch(/^seq 3 out of order or repeated/);
  });

  it('an edited entry was edited', () => {
    expect(verifyChain([e1, { ...e2, actor: 'mallory' }, e3]).reason).toMatch(/^seq 2 was edited/);
  });

  it('an entry pushed down by an insertion names the inserted seq', () => {
    const forged = linkEntry(e1, sampleInput(9), { chain: 'main', at: new Date('2030-01-01T00:00:00.000Z') });
    const result = verifyChain([e1, forged, { ...e2, seq: 3 }]);
    expect(result).toMatchObject({ ok: false, firstBadSeq: 2 });
    expect(result.reason).toMatch(/^seq 2 was inserted: .* seq 2$/);
  });

  it('an entry renumbered into an earlier place was moved, and names where it was appended', () => {
    const result = verifyChain([e1, { ...e3, seq: 2 }]);
    expect(result).toMatchObject({ ok: false, firstBadSeq: 2 });
    expect(result.reason).toMatch(/^seq 2 was moved: .* seq 3$/);
  });

  it('a resealed entry is named by the broken link of the next one', () => {
    const replaced = resealed(e2, (e) => (e.actor = 'mallory'));
    expect(verifyChain([e1, replaced, e3])).toMatchObject({ ok: false, firstBadSeq: 2, reason: expect.stringMatching(/^seq 2 was rewritten and resealed: seq 3 no longer links to it$/) });
  });

  it('an entry linked to neither by its successor nor to its predecessor was replaced itself', () => {
    const foreign = resealed(e2, (e) => (e.prevHash = 'f'.repeat(64)));
    expect(verifyChain([e1, foreign, e3])).toMatchObject({ ok: false, firstBadSeq: 2, reason: expect.stringMatching(/^seq 2 does not link to seq 1: it was replaced$/) });
  });

  it('a checkpoint verifier can look up the hash of the very first entry', () => {
    const checkpoint = linkEntry(e1, { type: 'checkpoint', actor: 'signer' }, { chain: 'main', at: new Date('2030-01-01T00:00:00.000Z') });
    const seen: (string | undefined)[] = [];
    const result = verifyChain([e1, checkpoint], { verifyCheckpoint: (_entry, hashAt) => (seen.push(hashAt(1)), true) });
    expect(seen).toEqual([e1.hash]);
    expect(result).toMatchObject({ ok: true, checkpoints: 1 });
  });
});

describe('the writer on DynamoDB', () => {
  /** A document client whose requests are recorded and whose PutItem can be made to fail. */
  function instrumented(doc: DynamoDBDocumentClient, failPut?: string) {
    const inputs: { command: string; input: Record<string, unknown> }[] = [];
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String((context as { commandName?: string }).commandName);
        inputs.push({ command, input: args.input as Record<string, unknown> });
        if (failPut && command === 'PutItemCommand') throw Object.assign(new Error(`${failPut} (injected)`), { name: failPut });
        return next(args);
      },
      { step: 'initialize', name: 'recordLedgerRequests' },
    );
    return inputs;
  }

  it('every read of the chain is strongly consistent, so no acknowledged entry is missed', async () => {
    const table = await ledgerTable();
    const inputs = instrumented(table.doc);
    await new LedgerWriter(table).append(sampleInput(1));
    const reader = new LedgerReader(table);
    await reader.readAll();
    await reader.since(1);
    await reader.head();
    const queries = inputs.filter((i) => i.command === 'QueryCommand');
    expect(queries.length).toBeGreaterThanOrEqual(4);
    for (const q of queries) expect(q.input.ConsistentRead).toBe(true);
  });

  it('a refused entry costs no DynamoDB request and claims no sequence number', async () => {
    const table = await ledgerTable();
    const inputs = instrumented(table.doc);
    const writer = new LedgerWriter(table);
    await expect(writer.append({ type: 'message.sent', actor: 'core', detail: { note: words(MAX_DETAIL_WORDS + 1) } })).rejects.toThrow(/^SCHEMA/);
    expect(inputs).toEqual([]);
    expect(await writer.append(sampleInput(1))).toMatchObject({ seq: 1 });
  });

  it('a DynamoDB fault during an append surfaces as itself, never as a lost race', async () => {
    const table = await ledgerTable();
    instrumented(table.doc, 'ProvisionedThroughputExceededException');
    const err: unknown = await new LedgerWriter({ ...table, maxAttempts: 3 }).append(sampleInput(1)).catch((e: unknown) => e);
    expect((err as Error).name).toBe('ProvisionedThroughputExceededException');
  });

  it('giving up after losing every race is a LedgerContentionError by name', async () => {
    const table = await ledgerTable();
    const loser = new LedgerWriter({ ...table, maxAttempts: 1 });
    await loser.append(sampleInput(1));
    await new LedgerWriter(table).append(sampleInput(2));
    const err: unknown = await loser.append(sampleInput(3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerContentionError);
    expect((err as Error).name).toBe('LedgerContentionError');
  });
});
