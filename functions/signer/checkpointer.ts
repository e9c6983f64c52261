import type { KMSClient } from '@aws-sdk/client-kms';
import { SecurityError } from '../kernel/errors';
import type { CheckpointAnchor, CheckpointAnchors } from '../kernel/ledger/checkpoint-anchor';
import { CheckpointOutcome, checkpointEntry, signCheckpoint } from '../kernel/ledger/checkpoints';
import type { LedgerReader, LedgerWriter } from '../kernel/ledger/ledger';
import { authorityPublicKey } from '../kernel/directives/verify';
import { entryLeaf, logOrigin } from '../kernel/ledger/log-tree';
import { CompactRange } from '../kernel/ledger/merkle';
import { kmsNoteSigner, treeHeadText } from '../kernel/ledger/tree-head';

export interface CheckpointerProps {
  /** KMS client for `Sign` with the authority key: the signer's only (DESIGN §3). */
  readonly kms: KMSClient;
  readonly authorityKeyArn: string;
  /** Reads the head of the chain to checkpoint, and the entries its tree head covers since the last one. */
  readonly reader: Pick<LedgerReader, 'head' | 'readAll' | 'since'>;
  /** Appends the `checkpoint` entry to the same chain. */
  readonly ledger: Pick<LedgerWriter, 'append' | 'chain'>;
  /** The chain's anchor, outside the chain. */
  readonly anchors: Pick<CheckpointAnchors, 'load' | 'advance'>;
  /** Entries appended since the last checkpoint that make the next one due (`topology.runtime.checkpointEvery`). */
  readonly every: number;
  /** Who signs, in the ledger. */
  readonly actor: string;
}

/**
 * Signs the head of the chain every `every` entries, or at once when forced. Order matters for truncation
 * evidence: the entry is appended first and the anchor advanced second, so the anchor never names an entry the
 * chain does not hold; a crash in between only leaves the anchor one checkpoint behind.
 *
 * @example
 * const checkpointer = new Checkpointer({ kms, authorityKeyArn, reader, ledger, anchors, every: 50, actor: 'signer' });
 * await checkpointer.checkpoint(); // on schedule
 * await checkpointer.checkpoint(true); // on demand
 */
export class Checkpointer {
  constructor(private readonly props: CheckpointerProps) {
    if (!Number.isInteger(props.every) || props.every < 1) throw new Error(`checkpoint interval must be a positive integer, not ${props.every}`);
  }

  async checkpoint(force = false): Promise<CheckpointOutcome> {
    const { kms, authorityKeyArn, reader, ledger, anchors, every, actor } = this.props;
    const anchor = await anchors.load();
    const head = await reader.head();
    const lastCheckpoint = anchor?.entrySeq ?? null;
    const headSeq = head?.seq ?? 0;
    // Never vouch for a chain shorter than what was already vouched for: that is truncation (DESIGN §7).
    if (headSeq < (lastCheckpoint ?? 0)) {
      throw new SecurityError('CHAIN_BROKEN', `chain ${ledger.chain} ends at seq ${headSeq}, before its anchored checkpoint at seq ${lastCheckpoint}`);
    }
    // Counted from the anchored checkpoint, never from a `checkpoint` entry anyone could have appended.
    const appended = headSeq - (lastCheckpoint ?? 0);
    if (head === undefined || appended === 0 || (!force && appended < every)) return { status: 'not_due', head: headSeq, lastCheckpoint };
    const signed = await signCheckpoint(kms, authorityKeyArn, { chain: ledger.chain, seq: head.seq, hash: head.hash });
    const tree = await this.signTreeHead(head.seq, head.hash, anchor?.tree);
    const entry = await ledger.append(checkpointEntry(signed, actor, tree));
    // False when a concurrent checkpoint anchored this head or a later one first: the anchor only moves forward.
    await anchors.advance({ checkpoint: signed, entrySeq: entry.seq, tree: { size: tree.size, nodes: tree.range.nodes.map((n) => n.toString('base64')) } });
    return { status: 'written', checkpoint: signed, entrySeq: entry.seq };
  }

  /**
   * The tree head over entries 1..`size` as a C2SP checkpoint signed by the authority key (DESIGN §7): its root and the
   * signature line's blob, which the checkpoint entry records. It hashes only the entries since the anchored tree's
   * right edge (or all of them, without one), so a checkpoint costs the same however long the ledger is. Refuses a
   * chain whose entry `size` is not the head it was asked to vouch for.
   */
  private async signTreeHead(
    size: number,
    hash: string,
    anchored: CheckpointAnchor['tree'],
  ): Promise<{ size: number; root: string; signature: string; range: CompactRange }> {
    const { kms, authorityKeyArn, reader, ledger } = this.props;
    const from = anchored && anchored.size <= size ? anchored : undefined;
    const range = from ? CompactRange.of(from.size, from.nodes.map((n) => Buffer.from(n, 'base64'))) : CompactRange.empty();
    const entries = from ? await reader.since(from.size) : await reader.readAll();
    for (const entry of entries) {
      if (range.size === size) break;
      if (entry.seq !== range.size + 1) break;
      range.append(entryLeaf(entry));
    }
    const last = entries[size - (from?.size ?? 0) - 1];
    if (range.size !== size || last?.seq !== size || last.hash !== hash) {
      throw new SecurityError('CHAIN_BROKEN', `chain ${ledger.chain} does not hold the head it is asked to vouch for at seq ${size}`);
    }
    const head = { origin: logOrigin(ledger.chain), size, rootHash: range.root() };
    const signer = kmsNoteSigner(kms, authorityKeyArn, await authorityPublicKey(kms, authorityKeyArn), head.origin);
    const signature = await signer.sign(Buffer.from(treeHeadText(head), 'utf8'));
    return { size, root: head.rootHash.toString('base64'), signature: Buffer.concat([signer.keyId, signature]).toString('base64'), range };
  }
}
