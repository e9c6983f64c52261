import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { tableName } from '../platform/environment';
import { CommandStatus, TERMINAL_STATUSES, isTerminal } from './commands';
import type { AgentContext } from '../agents/context';


/** A message core received and keeps: its ciphertext and the address it was sealed under. */
export interface SealedRef {
  readonly ciphertext: string;
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly messageId: string;
}

/** State core sealed for itself (`EnvelopeCipher.sealState`): the ciphertext and its label. */
export interface StateRef {
  readonly ciphertext: string;
  readonly label: string;
}

export interface SubtaskState {
  readonly agent: string;
  readonly toolCallId: string;
  status: 'sent' | 'awaiting_approval' | 'completed' | 'denied' | 'failed';
  reason?: string;
  result?: SealedRef;
  /** A declassification waiting for a human: the redacted task, sealed from core to core. */
  pending?: StateRef & { readonly requestId: string; readonly declassifiedLabel: string };
  /** The id of the task message, fixed when planned: a delegation retried after a crash reuses it. */
  messageId?: string;
  /** The task was handed to SQS; a retried plan does not send it again. */
  delegated?: boolean;
}

export interface CommandItem {
  commandId: string;
  owner: string;
  ownerClearance: string;
  label: string;
  allow: string[];
  declassifyTo?: string;
  status: CommandStatus;
  plan?: StateRef;
  subtasks?: Record<string, SubtaskState>;
  /** The message whose processing composes the answer (see `claimComposition`). */
  composedBy?: string;
}


/** A condition added to an update, with the names and values it uses (`#x`, `:x`; not `#p…`, `:v…`, `:t…`). */
export interface ExtraCondition {
  readonly condition: string;
  readonly names?: Record<string, string>;
  readonly values?: Record<string, unknown>;
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
  async update(commandId: string, set: Record<string, unknown>, extra?: ExtraCondition): Promise<CommandItem | false> {
    const names: Record<string, string> = { '#status': 'status', ...extra?.names };
    const values: Record<string, unknown> = { ':now': new Date().toISOString(), ...extra?.values };
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
          ConditionExpression: `attribute_exists(commandId) AND NOT #status IN (${terminal})${extra ? ` AND (${extra.condition})` : ''}`,
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

  static isTerminal(item: CommandItem): boolean {
    return isTerminal(item.status);
  }
}
