import { GENESIS_HASH, LedgerEntry, MAX_DETAIL_WORDS } from '../../../functions/kernel/ledger/entry';
import { LedgerContentionError, LedgerReader, LedgerWriter } from '../../../functions/kernel/ledger/ledger';
import { verifyChain } from '../../../functions/kernel/ledger/verify-chain';
import { isSecurityError } from '../../../functions/kernel/errors';
import { documentClient } from '../../support/aws';
import { atomicConditionalWrites, detailWords, ledgerTable, recordCommands, recordRequests, sampleInput } from './support';

async function appendMany(writer: LedgerWriter, count: number, from = 1): Promise<LedgerEntry[]> {
  const written: LedgerEntry[] = [];
  for (let i = from; i < from + count; i++) written.push(await writer.append(sampleInput(i)));
  return written;
}

describe('LedgerWriter and LedgerReader on DynamoDB', () => {
  it('appended entries link into one chain that verifies', async () => {
    const table = await ledgerTable();
    const written = await appendMany(new LedgerWriter(table), 6);
    expect(written.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(written[0].prevHash).toBe(GENESIS_HASH);
    written.slice(1).forEach((e, i) => expect(e.prevHash).toBe(written[i].hash));
    const reader = new LedgerReader(table);
    expect(await verifyChain(await reader.readAll())).toEqual({ ok: true, entries: 6, checkpoints: 0, firstBadSeq: null });
  });

  it('entries come back from DynamoDB exactly as they were hashed', async () => {
    const table = await ledgerTable();
    const writer = new LedgerWriter({ ...table, now: () => new Date('2030-05-06T07:08:09.010Z') });
    const written = [
      await writer.append({ type: 'command.accepted', actor: 'user:alice' }),
      await writer.append({ ...sampleInput(2), detail: { empty: '', zero: 0, negative: -7, big: Number.MAX_SAFE_INTEGER, no: false, none: null } }),
      await writer.append({ ...sampleInput(3), digests: {}, detail: {} }),
    ];
    expect(await new LedgerReader(table).readAll()).toEqual(written);
    expect(written[0].at).toBe('2030-05-06T07:08:09.010Z');
  });

  it('since(seq) returns only the entries after seq, oldest first', async () => {
    const table = await ledgerTable();
    const written = await appendMany(new LedgerWriter(table), 5);
    const reader = new LedgerReader(table);
    expect(await reader.since(2)).toEqual(written.slice(2));
    expect(await reader.since(5)).toEqual([]);
    expect((await reader.head())?.seq).toBe(5);
  });

  it('chains in one table are independent, each starting at seq 1', async () => {
    const table = await ledgerTable();
    await appendMany(new LedgerWriter(table), 3);
    const audit = await appendMany(new LedgerWriter({ ...table, chain: 'audit' }), 2);
    expect(audit.map((e) => [e.chain, e.seq])).toEqual([['audit', 1], ['audit', 2]]);
    expect(await verifyChain(await new LedgerReader(table).readAll())).toMatchObject({ ok: true, entries: 3 });
    expect(await verifyChain(await new LedgerReader({ ...table, chain: 'audit' }).readAll())).toMatchObject({ ok: true, entries: 2 });
  });

  it('8 concurrent writers × 50 appends produce one gap-free verified chain of 400', async () => {
    const { tableName } = await ledgerTable();
    // Eight writers on one chain starve each other on a loaded machine: a generous retry bound keeps the test about correctness.
    const writers = Array.from({ length: 8 }, () => new LedgerWriter({ doc: atomicConditionalWrites(documentClient()), tableName, maxAttempts: 2000 }));
    const results = await Promise.all(writers.map((w, n) => appendMany(w, 50, n * 50 + 1)));
    const claimed = results.flat().map((e) => e.seq).sort((a, b) => a - b);
    expect(claimed).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    const entries = await new LedgerReader({ doc: documentClient(), tableName }).readAll();
    expect(verifyChain(entries)).toEqual({ ok: true, entries: 400, checkpoints: 0, firstBadSeq: null });
    // Every append is in the chain exactly once, as its writer returned it.
    expect(entries).toEqual(results.flat().sort((a, b) => a.seq - b.seq));
  });

  it('two writers taking turns both link to the true head', async () => {
    const table = await ledgerTable();
    const a = new LedgerWriter({ ...table, doc: documentClient() });
    const b = new LedgerWriter({ ...table, doc: documentClient() });
    for (let i = 1; i <= 6; i++) await (i % 2 ? a : b).append(sampleInput(i));
    expect(await verifyChain(await new LedgerReader(table).readAll())).toMatchObject({ ok: true, entries: 6 });
  });

  it('every read of the chain, by reader and writer, is strongly consistent, so no acknowledged entry is missed', async () => {
    const table = await ledgerTable();
    const inputs = recordRequests(table.doc);
    await new LedgerWriter(table).append(sampleInput(1));
    const reader = new LedgerReader(table);
    await reader.readAll();
    await reader.since(1);
    await reader.head();
    const queries = inputs.filter((i) => i.command === 'QueryCommand');
    expect(queries.length).toBeGreaterThanOrEqual(4);
    for (const q of queries) expect(q.input.ConsistentRead).toBe(true);
  });
});

describe('one writer appends one entry at a time, and reads the head first only while others interleave', () => {
  it('concurrent appends of one writer never race each other for a sequence number', async () => {
    const table = await ledgerTable();
    const sent = recordCommands(table.doc);
    const writer = new LedgerWriter(table);
    const written = await Promise.all(Array.from({ length: 10 }, (_, i) => writer.append(sampleInput(i + 1))));
    expect(written.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // One query for the empty chain's head, then one put per entry: no put ever lost.
    expect(sent.filter((c) => c.startsWith('Query'))).toHaveLength(1);
    expect(sent.filter((c) => c === 'PutItemCommand')).toHaveLength(10);
  });

  it('a writer whose head is taken by another between its appends reads the head first, not after a failed put', async () => {
    const table = await ledgerTable();
    const docA = documentClient();
    const sent = recordCommands(docA);
    const a = new LedgerWriter({ ...table, doc: docA });
    const b = new LedgerWriter({ ...table, doc: documentClient() });
    for (let i = 1; i <= 10; i++) await (i % 2 ? a : b).append(sampleInput(i));
    // Its first stale hint costs one failed put; after that each append is a query and a put that succeeds.
    expect(sent.filter((c) => c === 'PutItemCommand')).toHaveLength(5 + 1);
    expect(await verifyChain(await new LedgerReader(table).readAll())).toMatchObject({ ok: true, entries: 10 });
  });

  it('once the others stop writing, the writer trusts its own head again: one put per append', async () => {
    const table = await ledgerTable();
    const docA = documentClient();
    const a = new LedgerWriter({ ...table, doc: docA });
    const b = new LedgerWriter({ ...table, doc: documentClient() });
    await a.append(sampleInput(1));
    await b.append(sampleInput(2));
    await a.append(sampleInput(3)); // stale hint: a failed put, then a query and a put
    await a.append(sampleInput(4)); // reads the head first, and sees its own: trusted again
    const sent = recordCommands(docA);
    await a.append(sampleInput(5));
    await a.append(sampleInput(6));
    expect(sent).toEqual(['PutItemCommand', 'PutItemCommand']);
  });

  it("an append whose predecessor never returns goes ahead after the writer's wait", async () => {
    const table = await ledgerTable();
    const writer = new LedgerWriter({ ...table, queueWaitMs: 100 });
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((r) => (release = r));
    let first = true;
    table.doc.middlewareStack.add(
      (next) => async (args) => {
        if (first) {
          first = false;
          await stuck; // the first request hangs, as for a function that died mid-append
        }
        return next(args);
      },
      { step: 'initialize', name: 'hangFirstRequest' },
    );
    const hung = writer.append(sampleInput(1));
    const entry = await writer.append(sampleInput(2));
    expect(entry.seq).toBe(1);
    release();
    await hung.catch(() => undefined);
  });
});

describe('append cost does not depend on the ledger length (no scans)', () => {
  /** Commands one append sends, for a writer that is fresh, wrote last, or was overtaken. */
  async function appendCosts(length: number) {
    const table = await ledgerTable();
    const filler = new LedgerWriter(table);
    await appendMany(filler, length);
    const doc = documentClient();
    const sent = recordCommands(doc);
    const fresh = new LedgerWriter({ ...table, doc });
    const costs: Record<string, string[]> = {};
    await fresh.append(sampleInput(0));
    costs.fresh = sent.splice(0);
    await fresh.append(sampleInput(0));
    costs.wroteLast = sent.splice(0);
    await filler.append(sampleInput(0));
    await fresh.append(sampleInput(0));
    costs.overtaken = sent.splice(0);
    return costs;
  }

  it('an append sends the same few commands and reads one item on a chain of 3 and of 150 entries, never a Scan', async () => {
    const [short, long] = [await appendCosts(3), await appendCosts(150)];
    expect(short).toEqual({
      fresh: ['QueryCommand(1)', 'PutItemCommand'],
      wroteLast: ['PutItemCommand'],
      overtaken: ['PutItemCommand', 'QueryCommand(1)', 'PutItemCommand'],
    });
    expect(long).toEqual(short);
  });
});

describe('append refuses and gives up cleanly', () => {
  it('an entry with classified-looking long text in detail is refused and nothing is sent or written', async () => {
    const table = await ledgerTable();
    const writer = new LedgerWriter(table);
    await writer.append(sampleInput(1));
    const sent = recordCommands(table.doc);
    const secret = 'The informant codenamed NIGHTJAR meets the handler every Tuesday at the north gate; '.repeat(4);
    const refusal = await writer.append({ type: 'message.sent', actor: 'analyst', detail: { summary: secret } }).catch((err: unknown) => err);
    expect(isSecurityError(refusal, 'SCHEMA')).toBe(true);
    expect((refusal as Error).message).not.toContain('NIGHTJAR');
    expect(sent).toEqual([]);
    expect(await new LedgerReader(table).readAll()).toHaveLength(1);
  });

  it('a refused entry costs a fresh writer no DynamoDB request and claims no sequence number', async () => {
    const table = await ledgerTable();
    const inputs = recordRequests(table.doc);
    const writer = new LedgerWriter(table);
    await expect(writer.append({ type: 'message.sent', actor: 'core', detail: { note: detailWords(MAX_DETAIL_WORDS + 1) } })).rejects.toThrow(/^SCHEMA/);
    expect(inputs).toEqual([]);
    expect(await writer.append(sampleInput(1))).toMatchObject({ seq: 1 });
  });

  it('a DynamoDB fault during an append surfaces as itself, never as a lost race', async () => {
    const table = await ledgerTable();
    recordRequests(table.doc, 'ProvisionedThroughputExceededException');
    const err: unknown = await new LedgerWriter({ ...table, maxAttempts: 3 }).append(sampleInput(1)).catch((e: unknown) => e);
    expect((err as Error).name).toBe('ProvisionedThroughputExceededException');
  });

  it('an append that keeps losing the race fails with a clear error and writes nothing', async () => {
    const table = await ledgerTable();
    const loser = new LedgerWriter({ ...table, maxAttempts: 1 });
    await loser.append(sampleInput(1));
    await new LedgerWriter(table).append(sampleInput(2));
    const err: unknown = await loser.append(sampleInput(3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerContentionError);
    // By name too, so logs and callers across module copies can tell contention from a fault.
    expect((err as Error).name).toBe('LedgerContentionError');
    expect(await verifyChain(await new LedgerReader(table).readAll())).toMatchObject({ ok: true, entries: 2 });
    // The failed attempt dropped its stale hint: the next append succeeds.
    expect((await loser.append(sampleInput(3))).seq).toBe(3);
  });
});
