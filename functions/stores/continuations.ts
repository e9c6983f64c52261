import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { digestOf } from '../kernel/canonical';
import type { SignedDirective } from '../kernel/directives/directives';
import { tableName } from '../platform/environment';
import type { AgentContext } from '../agents/context';

/**
 * The signer request id of a call: the same origin (the message, or core's subtask, that makes it), name and
 * arguments always name the same request, so work processed again after a crash asks for (and finds) the
 * same request, not a new one.
 */
export function callRequestId(origin: string, name: string, args: unknown): string {
  const h = createHash('sha256').update(`${origin}\n${name}\n${digestOf(args)}`).digest('hex');
  // An RFC 9562 version-8 (custom) UUID: the signer takes request ids as UUIDs.
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Pins live beside the continuations, under a key no signer delivery (a UUID request id) can name. */
const pinKey = (requestId: string) => `pin#${requestId}`;

/**
 * The directive each high or critical tool call runs under, fixed the first time the call obtains one. SQS
 * redelivers a message whose processing a crash interrupted; its calls then run under the directives they
 * already had, and the tool runtime recognises an effect already recorded for that directive and message
 * instead of doing it again under a new directive (DESIGN §4, §5: a side effect happens once). A pin is a
 * cache, not an authority: the tool runtime verifies every directive it is given.
 *
 * @example
 * const requestId = callRequestId(message.id, call.name, call.args);
 * const directive = (await pins.pinned(requestId)) ?? (await pins.pin(requestId, commandId, signed));
 */
export class CallDirectives {
  constructor(private readonly ctx: AgentContext) {}

  private get table(): string {
    return tableName(this.ctx.env, 'continuations');
  }

  /** The directive pinned for the call, if it has one. */
  async pinned(requestId: string): Promise<SignedDirective | undefined> {
    const out = await this.ctx.doc.send(new GetCommand({ TableName: this.table, Key: { requestId: pinKey(requestId) }, ConsistentRead: true }));
    const item = out.Item as { agent?: string; directive?: string } | undefined;
    return item?.agent === this.ctx.self.name && item.directive ? (JSON.parse(item.directive) as SignedDirective) : undefined;
  }

  /** Pins `directive` for the call unless one already is; returns the pinned one (the first pin wins). */
  async pin(requestId: string, commandId: string, directive: SignedDirective): Promise<SignedDirective> {
    try {
      await this.ctx.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            requestId: pinKey(requestId),
            agent: this.ctx.self.name,
            commandId,
            directive: JSON.stringify(directive),
            expiresAt: Math.ceil(directive.claims.expiresAt / 1000),
          },
          ConditionExpression: 'attribute_not_exists(requestId)',
        }),
      );
      return directive;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const pinned = await this.pinned(requestId);
      if (!pinned) throw err;
      return pinned;
    }
  }
}
