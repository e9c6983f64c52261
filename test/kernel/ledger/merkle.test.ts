import * as fc from 'fast-check';
import {
  CompactRange,
  EMPTY_ROOT,
  consistencyProof,
  inclusionProof,
  leafHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../../../functions/kernel/ledger/merkle';
import vectors from './vectors/transparency-dev-merkle.json';

/** RFC 9162 §2.1: the Merkle tree, against the transparency-dev/merkle reference data and by properties. */

const b64 = (s: string | null | undefined) => Buffer.from(s ?? '', 'base64');
const hex = (s: string) => Buffer.from(s, 'hex');

// The reference leaves and the roots of their prefixes (transparency-dev/merkle testonly/constants.go).
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('the RFC 9162 Merkle tree', () => {
  const hashes = LEAVES.map(leafHash);

  it('computes the reference root of every prefix of the reference leaves, the empty tree included', () => {
    for (let n = 0; n <= LEAVES.length; n++) expect(rootOf(hashes.slice(0, n)).toString('hex')).toBe(ROOTS[n]);
    expect(EMPTY_ROOT.toString('hex')).toBe(ROOTS[0]);
  });

  it('produces the reference inclusion and consistency proofs (every happy path of the vectors over the reference tree)', () => {
    let checked = 0;
    for (const v of vectors.inclusion.filter((x) => !x.wantErr && x.treeSize <= LEAVES.length && x.proof)) {
      if (b64(v.leafHash).equals(hashes[v.leafIdx]) && b64(v.root).equals(rootOf(hashes.slice(0, v.treeSize)))) {
        expect(inclusionProof(v.leafIdx, hashes.slice(0, v.treeSize)).map((p) => p.toString('base64'))).toEqual(v.proof);
        checked++;
      }
    }
    for (const v of vectors.consistency.filter((x) => !x.wantErr && x.size2 <= LEAVES.length)) {
      if (b64(v.root2).equals(rootOf(hashes.slice(0, v.size2)))) {
        expect(consistencyProof(v.size1, hashes.slice(0, v.size2)).map((p) => p.toString('base64'))).toEqual(v.proof ?? []);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  it.each(vectors.inclusion.map((v) => [v.file, v] as const))('inclusion vector %s', (_file, v) => {
    const ok = verifyInclusion(v.leafIdx, v.treeSize, b64(v.leafHash), (v.proof ?? []).map(b64), b64(v.root));
    expect(ok).toBe(!v.wantErr);
  });

  it.each(vectors.consistency.map((v) => [v.file, v] as const))('consistency vector %s', (_file, v) => {
    const ok = verifyConsistency(v.size1, v.size2, (v.proof ?? []).map(b64), b64(v.root1), b64(v.root2));
    expect(ok).toBe(!v.wantErr);
  });

  const tree = fc.array(fc.uint8Array({ maxLength: 8 }), { minLength: 1, maxLength: 300 }).map((leaves) => leaves.map(leafHash));

  it('property: every leaf of every tree size has an inclusion proof that verifies, and only for its own index, leaf and root', () => {
    fc.assert(
      fc.property(tree, fc.nat(), (leaves, i) => {
        const index = i % leaves.length;
        const root = rootOf(leaves);
        const proof = inclusionProof(index, leaves);
        expect(verifyInclusion(index, leaves.length, leaves[index], proof, root)).toBe(true);
        const other = leafHash(Buffer.from('not in the tree'));
        expect(verifyInclusion(index, leaves.length, other, proof, root)).toBe(false);
        expect(verifyInclusion(index, leaves.length, leaves[index], proof, EMPTY_ROOT)).toBe(false);
        if (leaves.length > 1) {
          const elsewhere = (index + 1) % leaves.length;
          if (!leaves[elsewhere].equals(leaves[index])) expect(verifyInclusion(elsewhere, leaves.length, leaves[index], proof, root)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('property: every prefix is consistent with every later tree, and a forked or rolled-back history is not', () => {
    fc.assert(
      fc.property(tree, fc.nat(), (leaves, m) => {
        const size1 = (m % leaves.length) + 1;
        const root1 = rootOf(leaves.slice(0, size1));
        const root2 = rootOf(leaves);
        const proof = consistencyProof(size1, leaves);
        expect(verifyConsistency(size1, leaves.length, proof, root1, root2)).toBe(true);
        // A fork: the first tree's last leaf rewritten.
        const forked = [...leaves.slice(0, size1 - 1), leafHash(Buffer.from('forged'))];
        if (!forked[size1 - 1].equals(leaves[size1 - 1])) {
          expect(verifyConsistency(size1, leaves.length, proof, rootOf(forked), root2)).toBe(false);
        }
        // A rollback: the heads swapped.
        if (size1 < leaves.length) expect(verifyConsistency(leaves.length, size1, proof, root2, root1)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses to prove a leaf or a prefix outside the tree', () => {
    expect(() => inclusionProof(3, hashes.slice(0, 3))).toThrow(RangeError);
    expect(() => consistencyProof(4, hashes.slice(0, 3))).toThrow(RangeError);
  });

  it('property: a compact range extended leaf by leaf, stored and reloaded on the way, has the root of the whole tree', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 300 }).map((l) => l.map(leafHash)), fc.nat(), (leaves, cut) => {
        const at = leaves.length === 0 ? 0 : cut % (leaves.length + 1);
        const first = CompactRange.empty();
        leaves.slice(0, at).forEach((l) => first.append(l));
        expect(first.root()).toEqual(rootOf(leaves.slice(0, at)));
        const reloaded = CompactRange.of(first.size, first.nodes);
        leaves.slice(at).forEach((l) => reloaded.append(l));
        expect(reloaded.size).toBe(leaves.length);
        expect(reloaded.root()).toEqual(rootOf(leaves));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a stored compact range whose nodes do not fit its size', () => {
    expect(() => CompactRange.of(3, [EMPTY_ROOT])).toThrow(RangeError);
    expect(() => CompactRange.of(4, [EMPTY_ROOT, EMPTY_ROOT])).toThrow(RangeError);
    expect(CompactRange.of(3, [EMPTY_ROOT, EMPTY_ROOT]).size).toBe(3);
  });
});
