import fc from 'fast-check';
import { canonicalJson, digestOf, sha256Hex } from '../../functions/kernel/canonical';
import { isSecurityError } from '../../functions/kernel/errors';

const expectSchema = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(isSecurityError(err, 'SCHEMA')).toBe(true);
    return;
  }
  throw new Error('expected a SecurityError SCHEMA');
};

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys and writes numbers the ECMAScript way, as RFC 8785 requires', () => {
    expect(canonicalJson({ b: 1, a: [1e21, 0.1, -0, 1.0], '\u20ac': 'x', c: { z: null, y: true } })).toBe(
      '{"a":[1e+21,0.1,0,1],"b":1,"c":{"y":true,"z":null},"€":"x"}',
    );
  });

  it('matches the RFC 8785 sample for key ordering by UTF-16 code units', () => {
    const value = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    const text = canonicalJson(value);
    const order = ['\\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((k) => text.indexOf(`"${k}":`));
    expect(order.every((pos, i) => pos >= 0 && (i === 0 || pos > order[i - 1]))).toBe(true);
  });

  it('gives equal values one digest however their keys were written', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const reordered = JSON.parse(JSON.stringify(value, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v)));
        return digestOf(reordered) === digestOf(value);
      }),
    );
  });

  it('is a fixed point: canonicalizing canonical JSON changes nothing', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => canonicalJson(JSON.parse(canonicalJson(value))) === canonicalJson(value)));
  });

  it('gives different arguments different digests', () => {
    expect(digestOf({ to: 'a@example.com' })).not.toBe(digestOf({ to: 'b@example.com' }));
    expect(digestOf([1, 2])).not.toBe(digestOf([2, 1]));
    expect(digestOf({ n: 1 })).not.toBe(digestOf({ n: '1' }));
  });

  it('refuses undefined and everything else that is not JSON, with SCHEMA', () => {
    expectSchema(() => canonicalJson(undefined));
    expectSchema(() => canonicalJson([1, undefined]));
    expectSchema(() => canonicalJson({ f: () => 1 }));
    expectSchema(() => canonicalJson({ n: NaN }));
    expectSchema(() => canonicalJson(Infinity));
    expectSchema(() => canonicalJson(10n));
    expectSchema(() => canonicalJson(Symbol('s')));
    expectSchema(() => canonicalJson({ when: new Date(0) }));
    expectSchema(() => canonicalJson(new Map([['a', 1]])));
    expectSchema(() => canonicalJson(Buffer.from('x')));
    expectSchema(() => canonicalJson('\ud800'));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expectSchema(() => canonicalJson(cyclic));
  });

  it('treats an undefined member as absent, as JSON does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it('accepts a shared (non-cyclic) sub-object twice', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  it('hashes with SHA-256 in lower-case hex', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(Buffer.from('abc'))).toBe(sha256Hex('abc'));
    expect(digestOf({})).toBe(sha256Hex('{}'));
  });
});
