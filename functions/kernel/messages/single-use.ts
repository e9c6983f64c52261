import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { SecurityError } from '../errors';
import { TABLES, ownPartition } from '../tables';
import { isConditionFailure } from '../conditional-write';

const { partitionKey: KEY, ttlAttribute: TTL } = TABLES.nonces;
/** Who consumed a value: the delivery (SQS message id) or message that spent it. */
const CONSUMER = 'consumedBy';

/** A value to consume and when its record may be forgotten (epoch ms): after that the value is refused anyway. */
export interface SingleUseEntry {
  readonly value: string;
  readonly expiresAtMs: number;
}

/**
 * Single use of directive nonces (`directive#<nonce>`) and message ids (`message#<id>`) (DESIGN §4, §5):
 * a conditional write that only the first consumer wins, so a replay is refused even when two copies
 * arrive at the same time on different Lambda instances.
 *
 * A consumer may be named (the SQS message id of a delivery): the same consumer consuming again is the
 * redelivery of work a crash interrupted, not a replay. Only SQS assigns that id, so a copy of a message
 * re-sent by anyone is a new consumer and still a REPLAY.
 *
 * Each consumer records values only in its own partitions (`<owner>#...`, IAM `dynamodb:LeadingKeys`), so no one
 * can spend another's nonces or message ids in advance.
 *
 * @example
 * await new SingleUseStore(doc, tableName, 'analyst').consume(`directive#${claims.nonce}`, claims.expiresAt);
 */
export class SingleUseStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** The agent (or service) that consumes: the partition it writes. */
    private readonly owner: string,
  ) {}

  /** Records `value` as used; REPLAY when it already was (by another consumer, when `consumer` is given). */
  async consume(value: string, expiresAtMs: number, consumer?: string): Promise<void> {
    try {
      await this.doc.send(new PutCommand(this.put({ value, expiresAtMs }, consumer)));
    } catch (err) {
      if (isConditionFailure(err)) throw new SecurityError('REPLAY', `${value} was already used`);
      throw err;
    }
  }

  /**
   * Consumes all entries or none (one transaction), so a refusal or a fault never leaves some of them
   * spent; REPLAY names the first one already used (by another consumer, when `consumer` is given).
   */
  async consumeAll(entries: readonly SingleUseEntry[], consumer?: string): Promise<void> {
    if (entries.length <= 1) {
      for (const e of entries) await this.consume(e.value, e.expiresAtMs, consumer);
      return;
    }
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems: entries.map((e) => ({ Put: this.put(e, consumer) })) }));
    } catch (err) {
      if (err instanceof TransactionCanceledException) {
        const used = err.CancellationReasons?.findIndex((r) => r.Code === 'ConditionalCheckFailed') ?? -1;
        if (used >= 0) throw new SecurityError('REPLAY', `${entries[used].value} was already used`);
      }
      throw err;
    }
  }

  private put({ value, expiresAtMs }: SingleUseEntry, consumer?: string) {
    const item: Record<string, string | number> = { [KEY]: ownPartition(this.owner, value), [TTL]: Math.ceil(expiresAtMs / 1000) };
    const names: Record<string, string> = { '#k': KEY };
    if (consumer === undefined) {
      return { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(#k)', ExpressionAttributeNames: names };
    }
    return {
      TableName: this.tableName,
      Item: { ...item, [CONSUMER]: consumer },
      // First consumer wins; the same consumer again is a redelivery, anyone else a replay.
      ConditionExpression: 'attribute_not_exists(#k) OR #by = :by',
      ExpressionAttributeNames: { ...names, '#by': CONSUMER },
      ExpressionAttributeValues: { ':by': consumer },
    };
  }
}
