import { generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { GENESIS_HASH, LedgerEntry, hashEntry, linkEntry } from '../../../functions/kernel/ledger/entry';
import { CheckpointVerifier, verifyChain } from '../../../functions/kernel/ledger/verify-chain';
import { IN_PLACE_EDITS, buildChain, copy, sampleInput } from './support';

const N = 12;
const chain = buildChain(N);
const at = new Date('2030-01-02T00:00:00.000Z');

/** `entry` with `change` applied and its own hash recomputed: what someone who can write the table can store. */
function resealed(entry: LedgerEntry, change: (e: Record<string, unknown>) => void): LedgerEntry {
  const { hash: _old, ...unsealed } = entry as LedgerEntry & Record<string, unknown>;
  change(unsealed);
  return { ...unsealed, hash: hashEntry(unsealed as never) } as LedgerEntry;
}

/** The chain with the entry at `seq` replaced by `replace(entry)`. */
function withEntry(seq: number, replace: (e: LedgerEntry) => LedgerEntry | unknown): LedgerEntry[] {
  const out = copy(chain);
  out[seq - 1] = replace(out[seq - 1]) as LedgerEntry;
  return out;
}

describe('verifyChain', () => {
  it('an intact chain verifies, and so does an empty one', () => {
    expect(verifyChain(chain)).toEqual({ ok: true, entries: N, checkpoints: 0, firstBadSeq: null });
    expect(verifyChain([])).toEqual({ ok: true, entries: 0, checkpoints: 0, firstBadSeq: null });
  });

  it('an edit of any field of any entry is detected at that seq', () => {
    const fields = [...Object.keys(IN_PLACE_EDITS), 'chain', 'seq up', 'seq down'];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: N }), fc.constantFrom(...fields), (seq, field) => {
        const tampered = withEntry(seq, (e) => {
          const edited = copy(e) as Record<string, any>;
          if (field === 'chain') edited.chain = 'other';
          else if (field === 'seq up') edited.seq += 5;
          else if (field === 'seq down') edited.seq -= 1;
          else IN_PLACE_EDITS[field](edited);
          return edited;
        });
        const result = verifyChain(tampered);
        expect(result).toMatchObject({ ok: false, firstBadSeq: seq });
      }),
      { numRuns: 300 },
    );
  });

  it('a deleted entry is detected at the first missing seq', () => {
    for (let seq = 1; seq < N; seq++) {
      const tampered = chain.filter((e) => e.seq !== seq);
      expect(verifyChain(tampered)).toMatchObject({ ok: false, firstBadSeq: seq, reason: expect.stringContaining('missing') });
    }
  });

  it('an inserted entry is detected at its seq, even when forged with a valid hash and link', () => {
    for (let seq = 1; seq <= N; seq++) {
      const forged = linkEntry(chain[seq - 2], { type: 'approval.recorded', actor: 'mallory' }, { chain: 'main', at });
      const renumbered = chain.slice(seq - 1).map((e) => ({ ...e, seq: e.seq + 1 }));
      const tampered = [...chain.slice(0, seq - 1), forged, ...renumbered];
      expect(verifyChain(tampered)).toMatchObject({ ok: false, firstBadSeq: seq, reason: expect.stringContaining('inserted') });
    }
  });

  it('a duplicated entry is detected where it repeats', () => {
    const tampered = [...chain.slice(0, 5), chain[4], ...chain.slice(5)];
    expect(verifyChain(tampered)).toMatchObject({ ok: false, firstBadSeq: 6 });
  });

  it('reordered entries are detected at the first position out of order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: N }), fc.integer({ min: 1, max: N }), (a, b) => {
        fc.pre(a !== b);
        const tampered = [...chain];
        [tampered[a - 1], tampered[b - 1]] = [tampered[b - 1], tampered[a - 1]];
        expect(verifyChain(tampered)).toMatchObject({ ok: false, firstBadSeq: Math.min(a, b) });
      }),
    );
  });

  it('an entry rewritten with a recomputed hash is named itself, by the broken link of the next one', () => {
    const tampered = withEntry(4, (e) => {
      const forged = { ...e, actor: 'mallory' };
      return { ...forged, hash: hashEntry(forged) };
    });
    expect(verifyChain(tampered)).toEqual({ ok: false, entries: N, checkpoints: 0, firstBadSeq: 4, reason: 'seq 4 was rewritten and resealed: seq 5 no longer links to it' });
  });

  it('the first entry with its genesis link rewritten and resealed is named itself, never a seq 0', () => {
    const first = { ...chain[0], prevHash: 'f'.repeat(64) };
    const resealed = { ...first, hash: hashEntry(first) };
    expect(verifyChain([resealed])).toMatchObject({ ok: false, firstBadSeq: 1 });
    expect(verifyChain([resealed, ...chain.slice(1)])).toMatchObject({ ok: false, firstBadSeq: 1 });
  });

  it('the last entry rewritten with a recomputed hash cannot be told from its predecessor resealed: the earlier is named', () => {
    const tampered = withEntry(N, (e) => ({ ...e, prevHash: hashEntry({ ...e, actor: 'x' }) }));
    const resealed = tampered.map((e, i) => (i === N - 1 ? { ...e, hash: hashEntry(e) } : e));
    expect(verifyChain(resealed)).toMatchObject({ ok: false, firstBadSeq: N - 1 });
  });

  it('an entry from another chain does not verify', () => {
    const other = buildChain(N, 'other');
    expect(verifyChain([...chain.slice(0, 3), other[3], ...chain.slice(4)])).toMatchObject({ ok: false, firstBadSeq: 4 });
  });

  it('malformed entries are reported, never thrown', () => {
    const malformed: unknown[] = [
      null,
      'entry',
      { ...chain[2], seq: '3' },
      { ...chain[2], seq: 3.5 },
      { ...chain[2], detail: new Set(['x']) },
      { ...chain[2], digests: new Uint8Array(0) },
      { ...chain[2], detail: { n: Number.NaN } },
      { ...chain[2], detail: { nested: { a: 1 } } },
    ];
    for (const bad of malformed) {
      expect(verifyChain(withEntry(3, () => bad))).toMatchObject({ ok: false, firstBadSeq: 3, reason: expect.stringContaining('malformed') });
    }
  });

  describe('an entry that is not an entry is bad even with a matching hash (one canonical form per entry)', () => {
    const [first] = buildChain(1);

    it.each<[string, (e: Record<string, unknown>) => void]>([
      ['a number where text belongs', (e) => (e.actor = 42)],
      ['a required field missing', (e) => delete e.actor],
      ['an optional field of the wrong type', (e) => (e.commandId = 7)],
      ['a field no entry has', (e) => (e.note = 'added later')],
      ['a DynamoDB set where digests belong', (e) => (e.digests = new Set(['a']))],
    ])('refuses a resealed entry with %s', (_what, change) => {
      expect(verifyChain([resealed(first, change)])).toMatchObject({ ok: false, firstBadSeq: 1 });
    });

    it('reports a missing (undefined) entry as bad instead of throwing', () => {
      expect(verifyChain([undefined as unknown as LedgerEntry])).toMatchObject({ ok: false, firstBadSeq: 1 });
    });

    it('accepts entries without a prototype, as any plain record', () => {
      const plain = buildChain(2).map((e) => Object.assign(Object.create(null) as LedgerEntry, e));
      expect(verifyChain(plain)).toMatchObject({ ok: true, entries: 2 });
    });
  });

  describe('the reason says what happened at the first bad entry', () => {
    const [e1, e2, e3] = buildChain(3);

    it('an entry numbered below 1 is malformed, not merely out of order', () => {
      expect(verifyChain([resealed(e1, (e) => (e.seq = 0))])).toMatchObject({ ok: false, firstBadSeq: 1, reason: expect.stringMatching(/malformed/) });
    });

    it('a deleted entry is reported by its seq as missing', () => {
      expect(verifyChain([e1, e3]).reason).toMatch(/^seq 2 missing/);
    });

    it('a repeated entry is reported as out of order or repeated', () => {
      expect(verifyChain([e1, e2, e2]).reason).toMatch(/^seq 3 out of order or repeated/);
    });

    it('an entry edited without resealing is reported as edited', () => {
      expect(verifyChain([e1, { ...e2, actor: 'mallory' }, e3]).reason).toMatch(/^seq 2 was edited/);
    });

    it('an entry pushed down by an insertion names the inserted seq and where it was appended', () => {
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

    it('an entry resealed before the last one is named by the broken link of the last, which has no successor', () => {
      const replaced = resealed(e2, (e) => (e.actor = 'mallory'));
      expect(verifyChain([e1, replaced, e3])).toMatchObject({ ok: false, firstBadSeq: 2, reason: expect.stringMatching(/^seq 2 was rewritten and resealed: seq 3 no longer links to it$/) });
    });

    it('an entry linked neither by its successor nor to its predecessor was replaced itself', () => {
      const foreign = resealed(e2, (e) => (e.prevHash = 'f'.repeat(64)));
      expect(verifyChain([e1, foreign, e3])).toMatchObject({ ok: false, firstBadSeq: 2, reason: expect.stringMatching(/^seq 2 does not link to seq 1: it was replaced$/) });
    });
  });
});

describe('signed checkpoints', () => {
  const authority = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const impostor = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const statement = (seq: number, hash: string) => Buffer.from(`agentsec-ledger-checkpoint:${seq}:${hash}`);

  /** A checkpoint over the entry before it, signed by `key` (how a signer might use the hook). */
  function checkpointAfter(entries: LedgerEntry[], key = authority.privateKey): LedgerEntry {
    const head = entries[entries.length - 1];
    const signature = sign('sha256', statement(head.seq, head.hash), key).toString('base64');
    return linkEntry(head, { type: 'checkpoint', actor: 'signer', detail: { covers: head.seq }, digests: { head: head.hash, signature } }, { chain: 'main', at });
  }

  const verifyCheckpoint: CheckpointVerifier = (entry, hashAt) => {
    const covers = entry.detail?.covers as number;
    const hash = hashAt(covers);
    return hash !== undefined && hash === entry.digests?.head &&
      verify('sha256', statement(covers, hash), authority.publicKey, Buffer.from(entry.digests?.signature ?? '', 'base64'));
  };

  it('checkpoints signed by the authority verify and are counted', () => {
    const entries = buildChain(5);
    entries.push(checkpointAfter(entries));
    entries.push(linkEntry(entries[5], sampleInput(7), { chain: 'main', at }));
    entries.push(checkpointAfter(entries));
    expect(verifyChain(entries, { verifyCheckpoint })).toEqual({ ok: true, entries: 8, checkpoints: 2, firstBadSeq: null });
  });

  it('a checkpoint not signed by the authority is the first bad seq', () => {
    const entries = buildChain(5);
    entries.push(checkpointAfter(entries, impostor.privateKey));
    entries.push(linkEntry(entries[5], sampleInput(7), { chain: 'main', at }));
    expect(verifyChain(entries, { verifyCheckpoint })).toMatchObject({ ok: false, firstBadSeq: 6, checkpoints: 0, reason: expect.stringContaining('checkpoint') });
  });

  it('a checkpoint rewritten and resealed outside what it signs is named, and not counted as verified', () => {
    const entries = buildChain(5);
    const checkpoint = checkpointAfter(entries);
    const rewritten = { ...checkpoint, at: '1999-12-31T23:59:59.000Z' };
    entries.push({ ...rewritten, hash: hashEntry(rewritten) });
    entries.push(linkEntry(checkpoint, sampleInput(7), { chain: 'main', at }));
    expect(verifyChain(entries, { verifyCheckpoint })).toMatchObject({ ok: false, firstBadSeq: 6, checkpoints: 0 });
  });

  /** Marks a checkpoint whose (test) signature is over another hash than the chain holds. */
  const STALE = 'e'.repeat(64);
  /** A verifier that says the authority signed `covers` over another hash than the chain holds. */
  const signedOverAnotherHash: CheckpointVerifier = (entry, hashAt) => {
    const covers = entry.detail?.covers as number;
    return entry.digests?.head === STALE ? { rewritten: covers } : verifyCheckpoint(entry, hashAt) && { covers };
  };
  const staleCheckpointAfter = (entries: LedgerEntry[]): LedgerEntry => {
    const head = entries[entries.length - 1];
    return linkEntry(head, { type: 'checkpoint', actor: 'signer', detail: { covers: head.seq }, digests: { head: STALE } }, { chain: 'main', at });
  };

  it('a checkpoint the authority signed over another hash names the first entry no earlier checkpoint vouches for', () => {
    const entries = buildChain(5);
    entries.push(checkpointAfter(entries));
    entries.push(linkEntry(entries[5], sampleInput(7), { chain: 'main', at }));
    entries.push(staleCheckpointAfter(entries));
    expect(verifyChain(entries, { verifyCheckpoint: signedOverAnotherHash })).toEqual({
      ok: false,
      entries: 8,
      checkpoints: 1,
      firstBadSeq: 6,
      reason: 'seq 6 to 7 were rewritten: seq 8 is a checkpoint the authority signed over another hash of seq 7',
    });
  });

  it('without an earlier checkpoint, a checkpoint signed over another hash names seq 1', () => {
    const entries = buildChain(3);
    entries.push(staleCheckpointAfter(entries));
    expect(verifyChain(entries, { verifyCheckpoint: signedOverAnotherHash })).toMatchObject({ ok: false, checkpoints: 0, firstBadSeq: 1 });
  });

  it('a later checkpoint over an earlier seq does not shrink what is vouched for', () => {
    const entries = buildChain(5);
    entries.push(checkpointAfter(entries));
    const early = entries[2];
    const signature = sign('sha256', statement(early.seq, early.hash), authority.privateKey).toString('base64');
    entries.push(linkEntry(entries[5], { type: 'checkpoint', actor: 'signer', detail: { covers: 3 }, digests: { head: early.hash, signature } }, { chain: 'main', at }));
    entries.push(linkEntry(entries[6], sampleInput(8), { chain: 'main', at }));
    entries.push(staleCheckpointAfter(entries));
    expect(verifyChain(entries, { verifyCheckpoint: signedOverAnotherHash })).toMatchObject({ ok: false, checkpoints: 2, firstBadSeq: 6 });
  });

  it('a checkpoint verifier that answers true vouches up to the entry before the checkpoint', () => {
    const entries = buildChain(3);
    entries.push(checkpointAfter(entries));
    entries.push(linkEntry(entries[3], sampleInput(5), { chain: 'main', at }));
    entries.push(staleCheckpointAfter(entries));
    const verdicts: CheckpointVerifier = (entry, hashAt) => (entry.digests?.head === STALE ? { rewritten: 5 } : verifyCheckpoint(entry, hashAt));
    expect(verifyChain(entries, { verifyCheckpoint: verdicts })).toMatchObject({ ok: false, checkpoints: 1, firstBadSeq: 4 });
  });

  it('an entry resealed after a verified checkpoint leaves that checkpoint counted', () => {
    const entries = buildChain(5);
    entries.push(checkpointAfter(entries));
    entries.push(linkEntry(entries[5], sampleInput(7), { chain: 'main', at }));
    entries.push(linkEntry(entries[6], sampleInput(8), { chain: 'main', at }));
    const forged = { ...entries[6], actor: 'mallory' };
    entries[6] = { ...forged, hash: hashEntry(forged) };
    expect(verifyChain(entries, { verifyCheckpoint })).toMatchObject({ ok: false, checkpoints: 1, firstBadSeq: 7 });
  });

  it('an edit right after a verified checkpoint leaves that checkpoint counted', () => {
    const entries = buildChain(5);
    entries.push(checkpointAfter(entries));
    entries.push(linkEntry(entries[5], sampleInput(7), { chain: 'main', at }));
    entries[6] = { ...entries[6], actor: 'mallory' };
    expect(verifyChain(entries, { verifyCheckpoint })).toMatchObject({ ok: false, checkpoints: 1, firstBadSeq: 7 });
  });

  it('a checkpoint entry resealed when no verifier is given is named, with no checkpoint counted', () => {
    const entries = buildChain(5);
    entries.push(checkpointAfter(entries));
    entries.push(linkEntry(entries[5], sampleInput(7), { chain: 'main', at }));
    const rewritten = { ...entries[5], at: '1999-12-31T23:59:59.000Z' };
    entries[5] = { ...rewritten, hash: hashEntry(rewritten) };
    expect(verifyChain(entries)).toMatchObject({ ok: false, checkpoints: 0, firstBadSeq: 6 });
  });

  it('a checkpoint verifier that throws rejects the checkpoint', () => {
    const entries = buildChain(3);
    entries.push(checkpointAfter(entries));
    const throwing: CheckpointVerifier = () => {
      throw new Error('bad signature encoding');
    };
    expect(verifyChain(entries, { verifyCheckpoint: throwing })).toMatchObject({ ok: false, firstBadSeq: 4 });
  });

  it('checkpoint verification sees only hashes of earlier, verified entries', () => {
    const entries = buildChain(3);
    entries.push(checkpointAfter(entries));
    const seen: Array<string | undefined> = [];
    verifyChain(entries, { verifyCheckpoint: (_e, hashAt) => (seen.push(hashAt(3), hashAt(4), hashAt(0), hashAt(1.5)), true) });
    expect(seen).toEqual([entries[2].hash, undefined, undefined, undefined]);
  });

  it('checkpoint verification can look up the hash of the very first entry', () => {
    const [e1] = buildChain(1);
    const checkpoint = linkEntry(e1, { type: 'checkpoint', actor: 'signer' }, { chain: 'main', at: new Date('2030-01-01T00:00:00.000Z') });
    const seen: (string | undefined)[] = [];
    const result = verifyChain([e1, checkpoint], { verifyCheckpoint: (_entry, hashAt) => (seen.push(hashAt(1)), true) });
    expect(seen).toEqual([e1.hash]);
    expect(result).toMatchObject({ ok: true, checkpoints: 1 });
  });
});

describe('verification cost', () => {
  const cpuMs = (work: () => void) => {
    const before = process.cpuUsage();
    work();
    const spent = process.cpuUsage(before);
    return (spent.user + spent.system) / 1000;
  };

  it('verifying 100 000 entries costs about one hash per entry', () => {
    const entries: LedgerEntry[] = [];
    const input = sampleInput(1);
    // Baseline: sealing the same entries, the least any verifier must redo.
    const sealing = cpuMs(() => {
      let prevHash = GENESIS_HASH;
      for (let seq = 1; seq <= 100_000; seq++) {
        const unsealed = { ...input, chain: 'main', seq, at: at.toISOString(), prevHash };
        prevHash = hashEntry(unsealed);
        entries.push({ ...unsealed, hash: prevHash });
      }
    });
    let result: ReturnType<typeof verifyChain> | undefined;
    const verifying = cpuMs(() => (result = verifyChain(entries)));
    expect(result).toEqual({ ok: true, entries: 100_000, checkpoints: 0, firstBadSeq: null });
    expect(verifying).toBeLessThan(2 * sealing);
    expect(verifying).toBeLessThan(10_000);
  });
});
