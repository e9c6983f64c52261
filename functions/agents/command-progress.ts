import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { tableName } from '../kernel/environment';
import { CommandStatus, TERMINAL_STATUSES, isTerminal } from '../kernel/command-record';
import type { AgentContext } from './context';


/** A sealed value core keeps for itself: the ciphertext and the address it was sealed under. */
export interface SealedRef {
  readonly ciphertext: string;
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly messageId: string;
}

export interface SubtaskState {
  readonly agent: string;
  readonly toolCallId: string;
  status: 'sent' | 'awaiting_approval' | 'completed' | 'denied' | 'failed';
  reason?: string;
  result?: SealedRef;
  /** A declassification waiting for a human: the redacted task, sealed from core to core. */
  pending?: SealedRef & { readonly requestId: string; readonly declassifiedLabel: string };
}

export interface CommandItem {
  commandId: string;
  owner: string;
  ownerClearance: string;
  label: string;
  allow: string[];
  declassifyTo?: string;
  status: CommandStatus;
  plan?: SealedRef;
  subtasks?: Record<string, SubtaskState>;
  composed?: boolean;
}


/** Core's view of a command's progress: every write is conditional on the command not being finished. */
export class CommandProgress {
  constructor(private readonly ctx: AgentContext) {}

  private get table() {
    return tableName(this.ctx.env, 'commands');
  }

  async get(commandId: string): Promise<CommandItem | undefined> {
    const out = await this.ctx.doc.send(new GetCommand({ TableName: this.table, Key: { commandId }, ConsistentRead: true }));
    return out.Item as CommandItem | undefined;
  }

  /** Applies `set` unless the command is terminal; false when it was (a late message for a finished command). */
  async update(commandId: string, set: Record<string, unknown>, extraCondition?: string): Promise<CommandItem | false> {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':now': new Date().toISOString() };
    TERMINAL_STATUSES.forEach((status, i) => (values[`:t${i}`] = status));
    const terminal = TERMINAL_STATUSES.map((_s, i) => `:t${i}`).join(', ');
    const parts = ['#updatedAt = :now'];
    names['#updatedAt'] = 'updatedAt';
    Object.entries(set).forEach(([path, value], i) => {
      const segments = path.split('.').map((seg, j) => {
        const key = `#p${i}_${j}`;
        names[key] = seg;
        return key;
      });
      values[`:v${i}`] = value;
      parts.push(`${segments.join('.')} = :v${i}`);
    });
    try {
      const out = await this.ctx.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { commandId },
          UpdateExpression: `SET ${parts.join(', ')}`,
          ConditionExpression: `attribute_exists(commandId) AND NOT #status IN (${terminal})${extraCondition ? ` AND ${extraCondition}` : ''}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes as CommandItem;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /** Claims the right to compose the answer exactly once, however many results race to be last. */
  async claimComposition(commandId: string): Promise<boolean> {
    const item = await this.update(commandId, { composed: true }, 'attribute_not_exists(composed)');
    return item !== false;
  }

  static isTerminal(item: CommandItem): boolean {
    return isTerminal(item.status);
  }
}
