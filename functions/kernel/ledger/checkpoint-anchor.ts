import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { signedCheckpointSchema, SignedCheckpoint } from './checkpoints';
import { SecurityError } from '../errors';
import type { LedgerLocation } from './ledger';
import { TABLES } from '../tables';
import { writeIf } from '../conditional-write';

/**
 * The latest signed checkpoint of a chain, kept outside the chain (DESIGN §7). A checkpoint entry cannot vouch
 * for entries after it, nor for its own presence: deleting the tail of a chain, checkpoints included, leaves a
 * shorter chain that verifies. The anchor says how long the chain was when it was last signed, so such a
 * truncation shows. It lives in the ledger table, in its own partition (`<chain>#anchor`), so the chain's
 * readers never see it and IAM can give the signer alone the right to write it.
 */

/** A signed checkpoint and where the chain records it. */
export interface CheckpointAnchor {
  readonly checkpoint: SignedCheckpoint;
  /** The seq of the `checkpoint` entry that carries it: the chain holds at least this many entries. */
  readonly entrySeq: number;
  /**
   * The right edge of the Merkle tree its tree head signed (base64 node hashes, `CompactRange`), so the next head
   * hashes only the entries since. Trusted for speed only: `audit verify` recomputes every head from the entries.
   */
  readonly tree?: { readonly size: number; readonly nodes: readonly string[] };
}

const anchorSchema = z
  .object({
    checkpoint: signedCheckpointSchema,
    entrySeq: z.int().min(2),
    tree: z.object({ size: z.int().min(1), nodes: z.array(z.base64()).max(64) }).strict().optional(),
  })
  .refine((a) => a.entrySeq > a.checkpoint.seq, 'a checkpoint entry comes after the entry it covers');

/** The partition that holds the anchor of `chain`. */
export const anchorPartition = (chain: string) => `${chain}#anchor`;

const CHAIN = TABLES.ledger.partitionKey;
const SEQ = TABLES.ledger.sortKey.name;
/** The anchor is one item: sort key 0, a seq no ledger entry has. */
const ANCHOR_SEQ = 0;

/**
 * Reads and advances the anchor of one chain.
 *
 * @example
 * const anchors = new CheckpointAnchors({ doc, tableName: env.AGENTSEC_TABLE_LEDGER });
 * await anchors.advance({ checkpoint: signed, entrySeq: entry.seq });
 */
export class CheckpointAnchors {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  readonly chain: string;

  constructor(props: LedgerLocation) {
    this.doc = props.doc;
    this.tableName = props.tableName;
    this.chain = props.chain ?? 'main';
  }

  /** The anchor; undefined before the first checkpoint. A malformed anchor is TAMPERED: nobody but the signer writes it. */
  async load(): Promise<CheckpointAnchor | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { [CHAIN]: anchorPartition(this.chain), [SEQ]: ANCHOR_SEQ }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const parsed = anchorSchema.safeParse({ checkpoint: out.Item.checkpoint, entrySeq: out.Item.entrySeq, tree: out.Item.tree });
    if (!parsed.success || parsed.data.checkpoint.chain !== this.chain) {
      throw new SecurityError('TAMPERED', `the checkpoint anchor of chain ${this.chain} is malformed`);
    }
    return parsed.data;
  }

  /**
   * Makes `anchor` the chain's anchor unless the anchor already covers its seq or a later one: the anchor only
   * moves forward, so a stale or replayed checkpoint cannot roll it back (DESIGN §7). False when refused.
   */
  async advance(anchor: CheckpointAnchor): Promise<boolean> {
    const { checkpoint, entrySeq, tree } = anchorSchema.parse(anchor);
    if (checkpoint.chain !== this.chain) throw new Error(`a checkpoint of chain ${checkpoint.chain} cannot anchor chain ${this.chain}`);
    return writeIf(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [CHAIN]: anchorPartition(this.chain), [SEQ]: ANCHOR_SEQ, checkpoint, entrySeq, ...(tree ? { tree } : {}), at: new Date().toISOString() },
          ConditionExpression: 'attribute_not_exists(#checkpoint) OR #checkpoint.#seq < :seq',
          ExpressionAttributeNames: { '#checkpoint': 'checkpoint', '#seq': 'seq' },
          ExpressionAttributeValues: { ':seq': checkpoint.seq },
        }),
      ),
    );
  }
}
