import {
  GENESIS_HASH,
  LedgerEntryInput,
  hashEntry,
  linkEntry,
  parseLedgerEntryInput,
} from '../../../functions/kernel/ledger/ledger';
import { isSecurityError } from '../../../functions/kernel/errors';
import { digest, sampleInput } from './support';

const CLASSIFIED =
  'Patient 4471 (J. Doe) tested positive for condition X on 12 March; oncology recommends the experimental ' +
  'protocol and the family has not been told. Do not disclose outside the MEDICAL compartment under any circumstances.';

function refusal(input: unknown): Error {
  try {
    parseLedgerEntryInput(input);
  } catch (err) {
    expect(isSecurityError(err, 'SCHEMA')).toBe(true);
    return err as Error;
  }
  throw new Error('entry was accepted');
}

describe('ledger entries carry digests and small metadata only (DESIGN §7)', () => {
  const base: LedgerEntryInput = { type: 'tool.executed', actor: 'analyst', commandId: 'cmd-1' };

  it('accepts identifiers, digests and short metadata', () => {
    expect(parseLedgerEntryInput(sampleInput(3))).toEqual(sampleInput(3));
  });

  it('refuses a detail holding long classified text, without echoing it', () => {
    const err = refusal({ ...base, detail: { note: CLASSIFIED } });
    expect(err.message).toContain('detail.note');
    expect(err.message).not.toContain('Patient');
  });

  it('refuses free text in detail even when it is under the length cap', () => {
    refusal({ ...base, detail: { note: CLASSIFIED.slice(0, 200) } });
  });

  it('refuses multi-line text, control characters and lone surrogates in detail', () => {
    refusal({ ...base, detail: { note: 'line one\nline two' } });
    refusal({ ...base, detail: { note: 'bell\u0007' } });
    refusal({ ...base, detail: { note: 'half \uD800 a character' } });
  });

  it('refuses plaintext in place of a digest', () => {
    refusal({ ...base, digests: { content: 'the launch code is 0000' } });
  });

  it('refuses unknown types, unknown reason codes, unknown fields and fractional numbers', () => {
    refusal({ ...base, type: 'command.deleted' });
    refusal({ ...base, reason: 'BECAUSE' });
    refusal({ ...base, body: 'plaintext' });
    refusal({ ...base, detail: { ratio: 0.1 } });
    refusal({ ...base, actor: 'has spaces' });
  });
});

describe('entry hashes', () => {
  it('the first entry starts the chain at seq 1 after the genesis hash', () => {
    const first = linkEntry(undefined, sampleInput(1), { chain: 'main', at: new Date(0) });
    expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH, chain: 'main', at: '1970-01-01T00:00:00.000Z' });
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    expect(first.hash).toBe(hashEntry(first));
  });

  it('a linked entry follows its head and names its hash', () => {
    const head = { seq: 41, hash: digest('head') };
    const next = linkEntry(head, sampleInput(2), { chain: 'main', at: new Date() });
    expect(next).toMatchObject({ seq: 42, prevHash: head.hash });
  });

  it('the hash is sha256 of the canonical JSON, independent of key order and of the hash field', () => {
    const entry = linkEntry(undefined, sampleInput(5), { chain: 'main', at: new Date(0) });
    const reordered = Object.fromEntries(Object.entries(entry).reverse()) as typeof entry;
    expect(hashEntry(reordered)).toBe(entry.hash);
    expect(hashEntry({ ...entry, hash: 'anything' } as typeof entry)).toBe(entry.hash);
    const { hash, ...body } = entry;
    const keys = Object.keys(body).sort();
    const canonical = `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalValue((body as Record<string, unknown>)[k])}`).join(',')}}`;
    expect(hash).toBe(digest(canonical));
  });
});

/** RFC 8785 for the flat values and flat maps an entry holds. */
function canonicalValue(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(o[k])}`).join(',')}}`;
}
