import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { digestOf } from '../kernel/canonical';
import { TABLES } from '../kernel/tables';
import { ApiError } from '../api/errors';
import { isConditionFailure } from '../kernel/conditional-write';

/**
 * Maps a client's `idempotency-key` header to one commandId with a conditional write, so a retried POST
 * resumes the same command instead of running a second one. The mapping lives in the idempotency table under
 * its own prefix; Powertools' records there are keyed by function name and never collide with it.
 *
 * Powertools' idempotency utility is not used here: it caches a finished response, but a request that dies
 * midway leaves an in-progress record, and the retry after it expires would create a second command. A
 * key → commandId claim instead lets the retry find and finish the first one.
 */

const KEY = TABLES.idempotency.partitionKey;
const TTL = TABLES.idempotency.ttlAttribute;

/** How long a key names its command; a retry after this starts a new command. */
export const IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 3600;

/** Visible ASCII, as HTTP header values carry it; long enough for a UUID or a client's own scheme. */
const KEY_FORMAT = /^[\x21-\x7e]{1,128}$/;

export interface KeyClaim {
  readonly commandId: string;
  /** True when this request created the mapping; false when an earlier request with the key did. */
  readonly fresh: boolean;
}

export class IdempotencyKeys {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * The commandId `key` names for `owner`. Keys are per user (one user's key never finds another's command),
   * and a key reused with a different request is a 409, never a silent answer for the other request.
   */
  async claim(owner: string, key: string, request: unknown): Promise<KeyClaim> {
    if (!KEY_FORMAT.test(key)) throw ApiError.schema('idempotency-key must be 1 to 128 visible ASCII characters');
    const id = `api#command#${digestOf({ owner, key })}`;
    // Salted with the key, so the stored digest is no dictionary for guessing a short command text.
    const requestDigest = digestOf({ owner, key, request });
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    const commandId = randomUUID();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [KEY]: id, commandId, requestDigest, [TTL]: nowSeconds + IDEMPOTENCY_KEY_TTL_SECONDS },
          // TTL deletion lags expiry (and never happens on the emulator): an expired mapping is free again.
          ConditionExpression: 'attribute_not_exists(#id) OR #ttl < :now',
          ExpressionAttributeNames: { '#id': KEY, '#ttl': TTL },
          ExpressionAttributeValues: { ':now': nowSeconds },
        }),
      );
      return { commandId, fresh: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [KEY]: id }, ConsistentRead: true }));
    const existing = out.Item as { commandId?: unknown; requestDigest?: unknown } | undefined;
    if (typeof existing?.commandId !== 'string') throw new Error('idempotency mapping vanished or is malformed');
    if (existing.requestDigest !== requestDigest) {
      throw ApiError.conflict('idempotency-key was already used for a different request', 'REPLAY');
    }
    return { commandId: existing.commandId, fresh: false };
  }
}
