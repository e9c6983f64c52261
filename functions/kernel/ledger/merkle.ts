import { createHash } from 'node:crypto';

/**
 * The Merkle hash tree of RFC 9162 §2.1 (Certificate Transparency 2.0), over SHA-256: leaf and interior hashes with
 * their domain-separation prefixes, the tree head, inclusion proofs and consistency proofs, and their verification
 * (DESIGN §7). Tested against the transparency-dev/merkle vectors and with property tests.
 */

/** Every hash of the tree is SHA-256: 32 bytes. */
export const HASH_BYTES = 32;

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** MTH({}) = SHA-256(): the root of the empty tree. */
export const EMPTY_ROOT: Buffer = sha256();

/** MTH({d}) = SHA-256(0x00 || d). */
export function leafHash(data: Uint8Array): Buffer {
  return sha256(LEAF_PREFIX, data);
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(NODE_PREFIX, left, right);
}

/** The largest power of two smaller than `n` (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) from the leaves' hashes. */
export function rootOf(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return Buffer.from(leaves[0]);
  const k = split(leaves.length);
  return nodeHash(rootOf(leaves.slice(0, k)), rootOf(leaves.slice(k)));
}

/** PATH(m, D[n]): the audit path of leaf `index` in the tree of `leaves` (RFC 9162 §2.1.3.1). */
export function inclusionProof(index: number, leaves: readonly Uint8Array[]): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`leaf ${index} is not in a tree of size ${leaves.length}`);
  }
  const path = (m: number, d: readonly Uint8Array[]): Buffer[] => {
    if (d.length <= 1) return [];
    const k = split(d.length);
    return m < k ? [...path(m, d.slice(0, k)), rootOf(d.slice(k))] : [...path(m - k, d.slice(k)), rootOf(d.slice(0, k))];
  };
  return path(index, leaves);
}

/** PROOF(m, D[n]): that the tree of the first `size1` leaves is a prefix of the tree of `leaves` (RFC 9162 §2.1.4.1). */
export function consistencyProof(size1: number, leaves: readonly Uint8Array[]): Buffer[] {
  if (!Number.isInteger(size1) || size1 < 0 || size1 > leaves.length) {
    throw new RangeError(`a tree of size ${size1} is not a prefix of a tree of size ${leaves.length}`);
  }
  if (size1 === 0 || size1 === leaves.length) return [];
  const subproof = (m: number, d: readonly Uint8Array[], whole: boolean): Buffer[] => {
    if (m === d.length) return whole ? [] : [rootOf(d)];
    const k = split(d.length);
    return m <= k
      ? [...subproof(m, d.slice(0, k), whole), rootOf(d.slice(k))]
      : [...subproof(m - k, d.slice(k), false), rootOf(d.slice(0, k))];
  };
  return subproof(size1, leaves, true);
}

const isHash = (h: Uint8Array | null | undefined): h is Uint8Array => h != null && h.length === HASH_BYTES;
const lsb = (n: number) => n % 2 === 1;
const equal = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** True when `proof` shows `leaf` (a leaf hash) at `index` in the tree of `size` leaves whose root is `root` (RFC 9162 §2.1.3.2). */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (!isHash(leaf) || !isHash(root) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/**
 * True when `proof` shows the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2` leaves
 * with root `root2` (RFC 9162 §2.1.4.2): the log only grew between the two heads.
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  // A proof from the empty tree says nothing (every tree extends it); callers check an empty head by its root.
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && equal(root1, root2);
  if (!isHash(root1) || !isHash(root2) || !proof.every(isHash) || proof.length === 0) return false;
  const path = Number.isInteger(Math.log2(size1)) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (lsb(fn)) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Uint8Array = path[0];
  let sr: Uint8Array = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, root1) && equal(sr, root2);
}

/**
 * The right edge of a tree: the roots of its perfect subtrees, left to right (at most one per set bit of its size), so
 * a tree can be extended leaf by leaf and its RFC 9162 root taken without the leaves before (a "compact range" from 0).
 */
export class CompactRange {
  private constructor(
    private size_: number,
    private readonly nodes_: Buffer[],
  ) {}

  /** The range of the empty tree. */
  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** A range from its size and nodes, as stored; refuses nodes that cannot be those of a tree of that size. */
  static of(size: number, nodes: readonly Uint8Array[]): CompactRange {
    let bits = 0;
    for (let n = size; n > 0; n = Math.floor(n / 2)) bits += n % 2;
    if (!Number.isSafeInteger(size) || size < 0 || nodes.length !== bits || !nodes.every(isHash)) {
      throw new RangeError(`${nodes.length} nodes are not the compact range of a tree of ${size} leaves`);
    }
    return new CompactRange(size, nodes.map((n) => Buffer.from(n)));
  }

  get size(): number {
    return this.size_;
  }

  get nodes(): readonly Buffer[] {
    return this.nodes_;
  }

  /** Adds one leaf hash on the right. */
  append(leaf: Uint8Array): void {
    this.nodes_.push(Buffer.from(leaf));
    // Each trailing 1 bit of the old size is a perfect subtree the new leaf completes.
    for (let s = this.size_; s % 2 === 1; s = Math.floor(s / 2)) {
      const right = this.nodes_.pop()!;
      const left = this.nodes_.pop()!;
      this.nodes_.push(nodeHash(left, right));
    }
    this.size_++;
  }

  /** MTH of the leaves so far. */
  root(): Buffer {
    if (this.nodes_.length === 0) return EMPTY_ROOT;
    let r = this.nodes_[this.nodes_.length - 1];
    for (let i = this.nodes_.length - 2; i >= 0; i--) r = nodeHash(this.nodes_[i], r);
    return r;
  }
}
