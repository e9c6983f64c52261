import * as z from 'zod';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SecurityError } from '../kernel/errors';
import { LEVELS, parseLabelText } from '../kernel/labels';
import { describeIssues, principalSchema } from '../kernel/schemas';
import { TABLES } from '../kernel/tables';

/**
 * The parts of a command record (TABLES.commands, written by the API) that authorize directives: whose
 * command it is, their clearance, what they allowed and how far they let content be declassified.
 */

export const COMMAND_STATUSES = ['queued', 'running', 'awaiting_approval', 'completed', 'failed', 'denied'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** A command in one of these states serves nothing any more: no directive may trace to it (DESIGN §5). */
export const TERMINAL_STATUSES: readonly CommandStatus[] = ['completed', 'failed', 'denied'];

export function isTerminal(status: CommandStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

const labelText = z.string().transform((text, ctx) => {
  try {
    return parseLabelText(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a label such as SECRET/MEDICAL' });
    return z.NEVER;
  }
});

/** Fails closed: a record missing any authorizing field authorizes nothing. Other fields are ignored. */
const commandAuthoritySchema = z.object({
  commandId: z.string().min(1),
  owner: principalSchema,
  ownerClearance: labelText,
  label: labelText,
  allow: z.array(z.string()),
  declassifyTo: z.enum(LEVELS).optional(),
  status: z.enum(COMMAND_STATUSES),
});

export type CommandAuthority = z.output<typeof commandAuthoritySchema>;

const KEY = TABLES.commands.partitionKey;

/** Reads and updates command records for the signer. */
export class CommandRecords {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The command's authorizing fields, undefined when there is no such command; SCHEMA when the record is malformed. */
  async authority(commandId: string): Promise<CommandAuthority | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [KEY]: commandId }, ConsistentRead: true }));
    if (!out.Item) return undefined;
    const parsed = commandAuthoritySchema.safeParse(out.Item);
    if (!parsed.success) throw new SecurityError('SCHEMA', `command ${commandId}: ${describeIssues(parsed.error)}`);
    return parsed.data;
  }

  /**
   * Moves the command to `to` only from one of `from`; false when it was elsewhere (a terminal status is never
   * left, so a finished command cannot be revived or re-decided).
   */
  async transition(commandId: string, from: readonly CommandStatus[], to: CommandStatus, reason?: string): Promise<boolean> {
    const values: Record<string, string> = { ':to': to, ':now': new Date().toISOString() };
    from.forEach((s, i) => (values[`:f${i}`] = s));
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [KEY]: commandId },
          UpdateExpression: `SET #status = :to, #updatedAt = :now${reason ? ', #reason = :reason' : ''}`,
          ConditionExpression: `attribute_exists(#key) AND #status IN (${from.map((_, i) => `:f${i}`).join(', ')})`,
          ExpressionAttributeNames: { '#key': KEY, '#status': 'status', '#updatedAt': 'updatedAt', ...(reason ? { '#reason': 'reason' } : {}) },
          ExpressionAttributeValues: reason ? { ...values, ':reason': reason } : values,
        }),
      );
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }
}
