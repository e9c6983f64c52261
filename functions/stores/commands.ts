import * as z from 'zod';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SecurityError } from '../kernel/errors';
import { describeIssues, principalSchema, labelTextSchema } from '../kernel/schemas';
import { TABLES } from '../kernel/tables';
import { writeIf } from '../kernel/conditional-write';
import { allowEntrySchema } from '../kernel/directives/capabilities';
import { sealedIntentSchema } from '../kernel/directives/intent';
import { countCommandStatus } from '../platform/metrics';

/**
 * The commands table, one store for all its users: the API creates a command and reads its status, core records
 * its progress, the signer reads what authorizes a directive and moves a command on a decision. The user's text
 * and the answer are stored only as ciphertexts; digests and labels are the only other content-derived fields.
 * Every write is conditional, so a retried or concurrent request never overwrites another's work.
 */

export const COMMAND_STATUSES = ['queued', 'running', 'awaiting_approval', 'completed', 'failed', 'denied'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** A command in one of these states serves nothing any more: no directive may trace to it (DESIGN §5). */
export const TERMINAL_STATUSES: readonly CommandStatus[] = ['completed', 'failed', 'denied'];

export function isTerminal(status: CommandStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** A message core received and keeps: its ciphertext and the address it was sealed under. */
const sealedRefSchema = z.object({
  ciphertext: z.string(),
  from: z.string(),
  to: z.string(),
  label: z.string(),
  messageId: z.string(),
});
export type SealedRef = z.output<typeof sealedRefSchema>;

/** State core sealed for itself (`EnvelopeCipher.sealState`): the ciphertext and its label. */
const stateRefSchema = z.object({ ciphertext: z.string(), label: z.string() });
export type StateRef = z.output<typeof stateRefSchema>;

const subtaskStateSchema = z.object({
  agent: z.string(),
  toolCallId: z.string(),
  status: z.enum(['sent', 'awaiting_approval', 'completed', 'denied', 'failed']),
  reason: z.string().optional(),
  result: sealedRefSchema.optional(),
  /** A declassification waiting for a human: the redacted task, sealed from core to core. */
  pending: stateRefSchema.extend({ requestId: z.string(), declassifiedLabel: z.string() }).optional(),
  /** The id of the task message, fixed when planned: a delegation retried after a crash reuses it. */
  messageId: z.string().optional(),
  /** The task was handed to SQS; a retried plan does not send it again. */
  delegated: z.boolean().optional(),
});
export type SubtaskState = z.output<typeof subtaskStateSchema>;

const commandItemSchema = z.object({
  commandId: z.string(),
  owner: z.string(),
  ownerClearance: z.string(),
  label: z.string(),
  /** What the user allowed: tool names or capabilities, as submitted (the signer reads them from `intent`). */
  allow: z.array(allowEntrySchema),
  /** The text and capabilities, sealed by the API for the signer alone (DESIGN §5). */
  intent: sealedIntentSchema.optional(),
  /** How far the user pre-authorized declassification: a whole label as text (SECRET/MEDICAL), DESIGN §6. */
  declassifyTo: z.string().optional(),
  status: z.enum(COMMAND_STATUSES),
  /** The `task` message's ciphertext: sealed from `api` to `core` at `label` with messageId = textMessageId. */
  textCiphertext: z.string(),
  textMessageId: z.string(),
  /** The keyed digest of the text, as the task message carries it; lets a resumed submission resend the same message. */
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
  /** Core's plan, sealed for itself. */
  plan: stateRefSchema.optional(),
  subtasks: z.record(z.string(), subtaskStateSchema).optional(),
  /** The message whose processing composes the answer (see `claimComposition`). */
  composedBy: z.string().optional(),
});

export type CommandItem = z.output<typeof commandItemSchema>;

/**
 * The parts of a command that authorize directives: whose command it is, their clearance, what they allowed and
 * how far they let content be declassified. Fails closed: a record missing any of them authorizes nothing.
 */
const commandAuthoritySchema = z.object({
  commandId: z.string().min(1),
  owner: principalSchema,
  ownerClearance: labelTextSchema,
  label: labelTextSchema,
  allow: z.array(allowEntrySchema),
  /** Without it a command authorizes no high-priority call: the signer trusts only what the API sealed (fail closed). */
  intent: sealedIntentSchema.optional(),
  declassifyTo: labelTextSchema.optional(),
  status: z.enum(COMMAND_STATUSES),
});

export type CommandAuthority = z.output<typeof commandAuthoritySchema>;

/** A condition added to an update, with the names and values it uses (`#x`, `:x`; not `#p…`, `:v…`, `:t…`). */
export interface ExtraCondition {
  readonly condition: string;
  readonly names?: Record<string, string>;
  readonly values?: Record<string, unknown>;
}

const KEY = TABLES.commands.partitionKey;

/**
 * Reads and writes command items.
 *
 * @example
 * const commands = new CommandStore(doc, tableName(env, 'commands'));
 * const created = await commands.create(item); // false when the id is taken
 */
export class CommandStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The command, or undefined when there is none. A malformed item is an internal fault, never a default. */
  async get(commandId: string): Promise<CommandItem | undefined> {
    const item = await this.read(commandId);
    if (!item) return undefined;
    const parsed = commandItemSchema.safeParse(item);
    if (!parsed.success) throw new Error(`command ${commandId} is malformed in the commands table: ${describeIssues(parsed.error)}`);
    return parsed.data;
  }

  /** The command's authorizing fields, undefined when there is no such command; SCHEMA when the record is malformed. */
  async authority(commandId: string): Promise<CommandAuthority | undefined> {
    const item = await this.read(commandId);
    if (!item) return undefined;
    const parsed = commandAuthoritySchema.safeParse(item);
    if (!parsed.success) throw new SecurityError('SCHEMA', `command ${commandId}: ${describeIssues(parsed.error)}`);
    return parsed.data;
  }

  /** Writes a new command; false when the id is taken (a concurrent or earlier submission with the same key). */
  async create(item: CommandItem): Promise<boolean> {
    const created = await writeIf(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#key)',
          ExpressionAttributeNames: { '#key': KEY },
        }),
      ),
    );
    if (created) countCommandStatus(item.status);
    return created;
  }

  /**
   * Takes over a queued, undispatched submission whose request died, as seen at `seenUpdatedAt`; false when
   * another request already took it over or finished it, so only one of several retries resumes it.
   */
  claimResumption(commandId: string, seenUpdatedAt: string, now: Date): Promise<boolean> {
    return writeIf(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [KEY]: commandId },
          UpdateExpression: 'SET #updatedAt = :now',
          ConditionExpression: 'attribute_not_exists(#dispatchedAt) AND #status = :queued AND #updatedAt = :seen',
          ExpressionAttributeNames: { '#updatedAt': 'updatedAt', '#dispatchedAt': 'dispatchedAt', '#status': 'status' },
          ExpressionAttributeValues: { ':now': now.toISOString(), ':seen': seenUpdatedAt, ':queued': 'queued' },
        }),
      ),
    );
  }

  /**
   * Fails a queued or running command that has not moved since `seenUpdatedAt`; false when it moved or ended
   * meanwhile (its progress wins over the deadline).
   */
  async failIdle(commandId: string, seenUpdatedAt: string, reason: string, now: Date): Promise<boolean> {
    const failed = await writeIf(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [KEY]: commandId },
          UpdateExpression: 'SET #status = :failed, #reason = :reason, #updatedAt = :now',
          ConditionExpression: '#status IN (:queued, :running) AND #updatedAt = :seen',
          ExpressionAttributeNames: { '#status': 'status', '#reason': 'reason', '#updatedAt': 'updatedAt' },
          ExpressionAttributeValues: { ':failed': 'failed', ':reason': reason, ':now': now.toISOString(), ':seen': seenUpdatedAt, ':queued': 'queued', ':running': 'running' },
        }),
      ),
    );
    if (failed) countCommandStatus('failed');
    return failed;
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

  /**
   * Moves the command to `to` only from one of `from`; false when it was elsewhere (a terminal status is never
   * left, so a finished command cannot be revived or re-decided).
   */
  async transition(commandId: string, from: readonly CommandStatus[], to: CommandStatus, reason?: string): Promise<boolean> {
    const values: Record<string, string> = { ':to': to, ':now': new Date().toISOString() };
    from.forEach((s, i) => (values[`:f${i}`] = s));
    const moved = await writeIf(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [KEY]: commandId },
          UpdateExpression: `SET #status = :to, #updatedAt = :now${reason ? ', #reason = :reason' : ''}`,
          ConditionExpression: `attribute_exists(#key) AND #status IN (${from.map((_, i) => `:f${i}`).join(', ')})`,
          ExpressionAttributeNames: { '#key': KEY, '#status': 'status', '#updatedAt': 'updatedAt', ...(reason ? { '#reason': 'reason' } : {}) },
          ExpressionAttributeValues: reason ? { ...values, ':reason': reason } : values,
        }),
      ),
    );
    if (moved) countCommandStatus(to);
    return moved;
  }

  /** Applies `set` (dotted paths) unless the command is terminal; false when it was (a late message for a finished command). */
  async update(commandId: string, set: Record<string, unknown>, extra?: ExtraCondition): Promise<CommandItem | false> {
    const names: Record<string, string> = { '#key': KEY, '#status': 'status', '#updatedAt': 'updatedAt', ...extra?.names };
    const values: Record<string, unknown> = { ':now': new Date().toISOString(), ...extra?.values };
    TERMINAL_STATUSES.forEach((status, i) => (values[`:t${i}`] = status));
    const terminal = TERMINAL_STATUSES.map((_s, i) => `:t${i}`).join(', ');
    const parts = ['#updatedAt = :now'];
    Object.entries(set).forEach(([path, value], i) => {
      const segments = path.split('.').map((seg, j) => {
        const key = `#p${i}_${j}`;
        names[key] = seg;
        return key;
      });
      values[`:v${i}`] = value;
      parts.push(`${segments.join('.')} = :v${i}`);
    });
    let updated: Record<string, unknown> | undefined;
    const applied = await writeIf(async () => {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [KEY]: commandId },
          UpdateExpression: `SET ${parts.join(', ')}`,
          ConditionExpression: `attribute_exists(#key) AND NOT #status IN (${terminal})${extra ? ` AND (${extra.condition})` : ''}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = out.Attributes;
    });
    if (!applied) return false;
    if (typeof set.status === 'string') countCommandStatus(set.status);
    const parsed = commandItemSchema.safeParse(updated);
    if (!parsed.success) throw new Error(`command ${commandId} is malformed in the commands table: ${describeIssues(parsed.error)}`);
    return parsed.data;
  }

  /**
   * Claims the right to compose the answer exactly once, however many results race to be last. The claim
   * belongs to the message whose processing made it (a message id is consumed by one delivery only), so when
   * a crash interrupts the composition, the redelivery of that message claims it again and finishes.
   */
  async claimComposition(commandId: string, messageId: string): Promise<boolean> {
    const item = await this.update(commandId, { composedBy: messageId }, {
      condition: 'attribute_not_exists(#claim) OR #claim = :claimant',
      names: { '#claim': 'composedBy' },
      values: { ':claimant': messageId },
    });
    return item !== false;
  }

  private async read(commandId: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [KEY]: commandId }, ConsistentRead: true }));
    return out.Item;
  }
}
