import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../kernel/tables';
import { writeIf } from '../kernel/conditional-write';
import type { EffectLog, OutboxRecord, SideEffect } from '../kernel/tools/effects';

export type { OutboxRecord, SideEffect } from '../kernel/tools/effects';

const KEY = TABLES.outbox.partitionKey;

/**
 * The tools' side effects, each written once under its effect id (a directive id, or the low-tool call
 * key): a duplicate delivery finds the record there and writes nothing (DESIGN §4).
 *
 * @example
 * const first = await outbox.record(claims.id, effect);  // true
 * const again = await outbox.record(claims.id, effect);  // false, nothing written
 */
export class Outbox implements EffectLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Records `effect` under `effectId`; false, with nothing written, when that id is already recorded. Only the effect
   * gateway calls it (and only its role may write the outbox), after checking the directive.
   */
  async record(effectId: string, effect: SideEffect): Promise<boolean> {
    const item: OutboxRecord = { ...withoutUndefined(effect), effectId, recordedAt: this.now().toISOString() };
    return writeIf(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          // At most once per effect id: the first writer wins and no one overwrites it.
          ConditionExpression: 'attribute_not_exists(#id)',
          ExpressionAttributeNames: { '#id': KEY },
        }),
      ),
    );
  }

  /** The record under `effectId`, read consistently (a duplicate must see the first write). */
  async get(effectId: string): Promise<OutboxRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [KEY]: effectId }, ConsistentRead: true }));
    return out.Item as OutboxRecord | undefined;
  }

  /** Marks a recorded effect dispatched (its sender did it); false when it already was. */
  async markDispatched(effectId: string): Promise<boolean> {
    return writeIf(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [KEY]: effectId },
          UpdateExpression: 'SET #at = :at',
          ConditionExpression: 'attribute_exists(#id) AND attribute_not_exists(#at)',
          ExpressionAttributeNames: { '#id': KEY, '#at': 'dispatchedAt' },
          ExpressionAttributeValues: { ':at': this.now().toISOString() },
        }),
      ),
    );
  }

  /** Every record (a full scan: for tests and operators, never on a request path). */
  async list(): Promise<OutboxRecord[]> {
    const records: OutboxRecord[] = [];
    for await (const page of paginateScan({ client: this.doc }, { TableName: this.tableName, ConsistentRead: true })) {
      records.push(...((page.Items ?? []) as OutboxRecord[]));
    }
    return records;
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
