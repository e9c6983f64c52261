import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { SecurityError } from './errors';
import { TABLES } from './tables';

const { partitionKey: KEY, ttlAttribute: TTL } = TABLES.nonces;

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
 * @example
 * await new SingleUseStore(doc, tableName).consume(`directive#${claims.nonce}`, claims.expiresAt);
 */
export class SingleUseStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Records `value` as used; REPLAY when it already was. */
  async consume(value: string, expiresAtMs: number): Promise<void> {
    try {
      await this.doc.send(new PutCommand(this.put({ value, expiresAtMs })));
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new SecurityError('REPLAY', `${value} was already used`);
      throw err;
    }
  }

  /**
   * Consumes all entries or none (one transaction), so a refusal or a fault never leaves some of them
   * spent; REPLAY names the first one already used.
   */
  async consumeAll(entries: readonly SingleUseEntry[]): Promise<void> {
    if (entries.length <= 1) {
      for (const e of entries) await this.consume(e.value, e.expiresAtMs);
      return;
    }
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems: entries.map((e) => ({ Put: this.put(e) })) }));
    } catch (err) {
      if (err instanceof TransactionCanceledException) {
        const used = err.CancellationReasons?.findIndex((r) => r.Code === 'ConditionalCheckFailed') ?? -1;
        if (used >= 0) throw new SecurityError('REPLAY', `${entries[used].value} was already used`);
      }
      throw err;
    }
  }

  private put({ value, expiresAtMs }: SingleUseEntry) {
    return {
      TableName: this.tableName,
      Item: { [KEY]: value, [TTL]: Math.ceil(expiresAtMs / 1000) },
      ConditionExpression: 'attribute_not_exists(#k)',
      ExpressionAttributeNames: { '#k': KEY },
    };
  }
}
