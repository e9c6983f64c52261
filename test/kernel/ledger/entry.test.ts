import { GENESIS_HASH, LedgerEntryInput, MAX_DETAIL_WORDS, hashEntry, linkEntry, parseLedgerEntryInput } from '../../../functions/kernel/ledger/entry';
import { isSecurityError } from '../../../functions/kernel/errors';
import { detailWords, digest, sampleInput } from './support';

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

/** Whether a `message.sent` entry with this detail passes the policy; anything but a SCHEMA refusal is a test error. */
function acceptedDetail(detail: Record<string, string>): boolean {
  try {
    parseLedgerEntryInput({ type: 'message.sent', actor: 'core', detail });
    return true;
  } catch (err) {
    if (isSecurityError(err, 'SCHEMA')) return false;
    throw err;
  }
}

/** Parsing a `message.sent` entry with these extra fields, to run under `expect(...).toThrow()`. */
const parsingEntryWith = (fields: object) => () => parseLedgerEntryInput({ type: 'message.sent', actor: 'core', ...fields });

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

  describe('detail text is a handful of words, never prose', () => {
    it(`accepts exactly ${MAX_DETAIL_WORDS} words of detail text and refuses one more`, () => {
      expect(acceptedDetail({ note: detailWords(MAX_DETAIL_WORDS) })).toBe(true);
      expect(acceptedDetail({ note: detailWords(MAX_DETAIL_WORDS + 1) })).toBe(false);
    });

    it('counts words, not the spaces around or between them', () => {
      expect(acceptedDetail({ note: `  ${detailWords(MAX_DETAIL_WORDS)}  ` })).toBe(true);
      expect(acceptedDetail({ note: detailWords(MAX_DETAIL_WORDS, '   ') })).toBe(true);
    });

    it('accepts at most 16 digests and 32 detail fields', () => {
      const digests = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i}`, digest(String(i))]));
      const detail = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i]));
      expect(parsingEntryWith({ digests: digests(16) })).not.toThrow();
      expect(parsingEntryWith({ digests: digests(17) })).toThrow(/SCHEMA/);
      expect(parsingEntryWith({ detail: detail(32) })).not.toThrow();
      expect(parsingEntryWith({ detail: detail(33) })).toThrow(/SCHEMA/);
    });
  });

  describe('digests are digests and field names are names: nothing else rides along', () => {
    const hex = digest('content');

    it.each([
      ['text after a digest', `${hex} patient John Smith`],
      ['text before a digest', `John Smith ${hex}`],
      ['a few hex characters', 'abc'],
      ['a single hex character', 'a'],
      ['forty spaces', ' '.repeat(40)],
    ])('refuses a digest value with %s', (_what, value) => {
      expect(parsingEntryWith({ digests: { content: value } })).toThrow(/SCHEMA/);
    });

    it('accepts hex and base64 digests', () => {
      expect(parsingEntryWith({ digests: { hex, b64: Buffer.from(hex, 'hex').toString('base64') } })).not.toThrow();
    });

    it.each(['-x', 'x-', 'two words', '_x'])('refuses the detail or digest field name %j', (name) => {
      expect(parsingEntryWith({ detail: { [name]: 1 } })).toThrow(/SCHEMA/);
      expect(parsingEntryWith({ digests: { [name]: hex } })).toThrow(/SCHEMA/);
    });
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

  it('refuses (SCHEMA) to hash an entry that serializes to nothing, instead of hashing nothing', () => {
    const hollow = { ...sampleInput(1), toJSON: () => undefined } as unknown as Parameters<typeof hashEntry>[0];
    expect(() => hashEntry(hollow)).toThrow(/^SCHEMA/);
  });
});

/** RFC 8785 for the flat values and flat maps an entry holds. */
function canonicalValue(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(o[k])}`).join(',')}}`;
}
