import { createHash } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { digestOf } from '../kernel/canonical';
import type { SignedDirective } from '../kernel/directives/claims';
import { writeIf } from '../kernel/conditional-write';
import { TABLES, ownPartition } from '../kernel/tables';

const KEY = TABLES.continuations.partitionKey;

/**
 * The signer request id of a call: the same origin (the message, or core's subtask, that makes it), name and
 * arguments (given as their keyed digest, so the id reveals no guessable argument, DESIGN §6) always name the same request, so work processed again after a crash asks for (and finds) the
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
/** Suspended work, under its request id. */
const workKey = (requestId: string) => `work#${requestId}`;

/** Suspended work as stored: the agent sealed it for itself (see `sealOwnState`); only the agent reads it back. */
export interface SuspendedWork {
  readonly requestId: string;
  readonly commandId: string;
  readonly principal: string;
  readonly label: string;
  readonly ciphertext: string;
}

/** How long suspended work waits for its approvals. */
const SUSPENDED_FOR_SECONDS = 7 * 24 * 3600;

/**
 * One agent's continuations: work suspended while a critical tool waits for approvals, and the directive each
 * high or critical call runs under. SQS redelivers a message whose processing a crash interrupted; its calls
 * then run under the directives they already had, and the tool runtime recognises an effect already recorded
 * for that directive and message instead of doing it again under a new directive (DESIGN §4, §5: a side effect
 * happens once). A pin is a cache, not an authority: the tool runtime verifies every directive it is given.
 *
 * @example
 * const continuations = new ContinuationStore(doc, tableName(env, 'continuations'), 'analyst');
 * const requestId = callRequestId(message.id, call.name, argsDigest(call.args, argsSalt));
 * const directive = (await continuations.pinned(requestId)) ?? (await continuations.pin(requestId, commandId, signed));
 */
export class ContinuationStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    /** The agent whose continuations these are: it writes only its own partitions (IAM `dynamodb:LeadingKeys`). */
    private readonly agent: string,
  ) {}

  private key(suffix: string): Record<string, string> {
    return { [KEY]: ownPartition(this.agent, suffix) };
  }

  /** The directive pinned for the call, if it has one. */
  async pinned(requestId: string): Promise<SignedDirective | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: this.key(pinKey(requestId)), ConsistentRead: true }));
    const item = out.Item as { agent?: string; directive?: string } | undefined;
    return item?.agent === this.agent && item.directive ? (JSON.parse(item.directive) as SignedDirective) : undefined;
  }

  /** Pins `directive` for the call unless one already is; returns the pinned one (the first pin wins). */
  async pin(requestId: string, commandId: string, directive: SignedDirective): Promise<SignedDirective> {
    const pinned = await writeIf(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...this.key(pinKey(requestId)),
            requestId,
            agent: this.agent,
            commandId,
            directive: JSON.stringify(directive),
            expiresAt: Math.ceil(directive.claims.expiresAt / 1000),
          },
          ConditionExpression: 'attribute_not_exists(#key)',
          ExpressionAttributeNames: { '#key': KEY },
        }),
      ),
    );
    if (pinned) return directive;
    const existing = await this.pinned(requestId);
    if (!existing) throw new Error(`call ${requestId} is pinned by another agent`);
    return existing;
  }

  /** Stores suspended work under its request id; false when it is already there (an earlier attempt of the same message). */
  suspend(work: SuspendedWork, now: Date = new Date()): Promise<boolean> {
    return writeIf(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...work, ...this.key(workKey(work.requestId)), agent: this.agent, expiresAt: Math.floor(now.getTime() / 1000) + SUSPENDED_FOR_SECONDS },
          ConditionExpression: 'attribute_not_exists(#key)',
          ExpressionAttributeNames: { '#key': KEY },
        }),
      ),
    );
  }

  /** This agent's work suspended under `requestId` for `commandId`, if there is any. */
  async suspended(requestId: string, commandId: string): Promise<SuspendedWork | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: this.key(workKey(requestId)), ConsistentRead: true }));
    const item = out.Item as (SuspendedWork & { agent?: string; id?: string }) | undefined;
    if (!item || item.agent !== this.agent || item.commandId !== commandId || item.requestId !== requestId) return undefined;
    const { id: _key, agent: _agent, expiresAt: _ttl, ...work } = item as SuspendedWork & { agent?: string; id?: string; expiresAt?: number };
    return work;
  }
}
