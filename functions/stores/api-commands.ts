import * as z from 'zod';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { COMMAND_STATUSES } from './commands';
import { LEVELS } from '../kernel/labels';
import { TABLES } from '../kernel/tables';

/**
 * The commands table as the API writes and reads it (AGENTS-DESIGN "Commands table item"). The user's text
 * and the answer are stored only as ciphertexts; digests and labels are the only other content-derived fields.
 */

const storedCommandSchema = z.object({
  commandId: z.string(),
  owner: z.string(),
  ownerClearance: z.string(),
  label: z.string(),
  allow: z.array(z.string()),
  declassifyTo: z.enum(LEVELS).optional(),
  status: z.enum(COMMAND_STATUSES),
  /** The `task` message's ciphertext: sealed from `api` to `core` at `label` with messageId = textMessageId. */
  textCiphertext: z.string(),
  textMessageId: z.string(),
  /** SHA-256 of the text, as the task message carries it; lets a resumed submission resend the same message. */
  textDigest: z.string(),
  /** Sealed from `core` to `api` at `resultLabel` with messageId = resultMessageId. */
  resultCiphertext: z.string().optional(),
  resultMessageId: z.string().optional(),
  resultLabel: z.string().optional(),
  reason: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Set once the task message is on core's queue: the submission is complete. */
  dispatchedAt: z.string().optional(),
});

export type CommandItem = z.output<typeof storedCommandSchema>;

const KEY = TABLES.commands.partitionKey;

function isConditionFailure(err: unknown): boolean {
  return (err as { name?: string }).name === 'ConditionalCheckFailedException';
}

/**
 * Reads and writes command items. Every write is conditional, so a retried or concurrent submission never
 * overwrites a command another request created.
 */
export class CommandStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The command, or undefined when there is none. A malformed item is an internal fault, never a default. */
  async get(commandId: string): Promise<CommandItem | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [KEY]: commandId }, ConsistentRead: true }));
    if (!out.Item) return undefined;
    const parsed = storedCommandSchema.safeParse(out.Item);
    if (!parsed.success) throw new Error(`command ${commandId} is malformed in the commands table`);
    return parsed.data;
  }

  /** Writes a new command; false when the id is taken (a concurrent or earlier submission with the same key). */
  async create(item: CommandItem): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#key)',
          ExpressionAttributeNames: { '#key': KEY },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /**
   * Takes over a queued, undispatched submission whose request died, as seen at `seenUpdatedAt`; false when
   * another request already took it over or finished it, so only one of several retries resumes it.
   */
  async claimResumption(commandId: string, seenUpdatedAt: string, now: Date): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [KEY]: commandId },
          UpdateExpression: 'SET #updatedAt = :now',
          ConditionExpression: 'attribute_not_exists(#dispatchedAt) AND #status = :queued AND #updatedAt = :seen',
          ExpressionAttributeNames: { '#updatedAt': 'updatedAt', '#dispatchedAt': 'dispatchedAt', '#status': 'status' },
          ExpressionAttributeValues: { ':now': now.toISOString(), ':seen': seenUpdatedAt, ':queued': 'queued' },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /**
   * Fails a queued or running command that has not moved since `seenUpdatedAt`; false when it moved or ended
   * meanwhile (its progress wins over the deadline).
   */
  async failIdle(commandId: string, seenUpdatedAt: string, reason: string, now: Date): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [KEY]: commandId },
          UpdateExpression: 'SET #status = :failed, #reason = :reason, #updatedAt = :now',
          ConditionExpression: '#status IN (:queued, :running) AND #updatedAt = :seen',
          ExpressionAttributeNames: { '#status': 'status', '#reason': 'reason', '#updatedAt': 'updatedAt' },
          ExpressionAttributeValues: { ':failed': 'failed', ':reason': reason, ':now': now.toISOString(), ':seen': seenUpdatedAt, ':queued': 'queued', ':running': 'running' },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** Records that the task message is on its way; the submission will not be resumed again. */
  async markDispatched(commandId: string, now: Date): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [KEY]: commandId },
        UpdateExpression: 'SET #dispatchedAt = :now',
        ConditionExpression: 'attribute_exists(#key)',
        ExpressionAttributeNames: { '#key': KEY, '#dispatchedAt': 'dispatchedAt' },
        ExpressionAttributeValues: { ':now': now.toISOString() },
      }),
    );
  }
}
