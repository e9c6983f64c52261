import * as z from 'zod';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../kernel/tables';
import { writeIf } from '../kernel/conditional-write';

/**
 * Approvers' passkeys (DESIGN §5), kept in TABLES.approvals, which the signer alone writes (IAM): a role that is not
 * the signer can neither add a key nor replace one, so a vote that verifies against the stored key was signed by
 * the person who registered it. One passkey per approver: the first registration is the only one, so once an
 * approver has a passkey nobody holding a session of theirs can add another.
 */

const PK = TABLES.approvals.partitionKey;
const SK = TABLES.approvals.sortKey.name;
/** Partition `passkey#<username>`: never a request id (those are UUIDs) nor a capability's `uses#` item. */
const PASSKEY_PREFIX = 'passkey#';
/** The sort key of a passkey item, so scans of the table can tell it from requests and votes. */
export const PASSKEY_ITEM = '#passkey';

export interface StoredPasskey {
  readonly username: string;
  /** The credential id, base64url. */
  readonly credentialId: string;
  /** The COSE public key, base64url. */
  readonly publicKey: string;
  /** The authenticator's signature counter at the last verified assertion (0 for authenticators without one). */
  readonly counter: number;
  readonly transports?: readonly string[];
  readonly createdAt: string;
}

const storedPasskeySchema = z.object({
  username: z.string(),
  credentialId: z.string().regex(/^[A-Za-z0-9_-]+$/),
  publicKey: z.string().regex(/^[A-Za-z0-9_-]+$/),
  counter: z.number().int().min(0),
  transports: z.array(z.string()).optional(),
  createdAt: z.string(),
});

export class PasskeyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The approver's passkey, or undefined. A malformed item fails closed (it verifies nothing). */
  async load(username: string): Promise<StoredPasskey | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keyOf(username), ConsistentRead: true }));
    if (!out.Item) return undefined;
    const parsed = storedPasskeySchema.safeParse(out.Item);
    if (!parsed.success || parsed.data.username !== username) throw new Error(`the passkey item of ${username} is malformed`);
    return parsed.data;
  }

  /** Stores the approver's first passkey; false when they already have one (nothing is replaced). */
  async register(passkey: StoredPasskey): Promise<boolean> {
    return writeIf(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keyOf(passkey.username), ...passkey },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK },
        }),
      ),
    );
  }

  /**
   * Moves the signature counter forward. False when another assertion got there first with the same or a higher
   * counter: a replayed or cloned authenticator's assertion (WebAuthn §6.1.1).
   */
  async advanceCounter(username: string, credentialId: string, counter: number): Promise<boolean> {
    if (counter === 0) return true; // authenticators without a counter always send 0
    return writeIf(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keyOf(username),
          UpdateExpression: 'SET #counter = :counter',
          ConditionExpression: 'credentialId = :credential AND #counter < :counter',
          ExpressionAttributeNames: { '#counter': 'counter' },
          ExpressionAttributeValues: { ':counter': counter, ':credential': credentialId },
        }),
      ),
    );
  }
}

function keyOf(username: string): Record<string, string> {
  return { [PK]: `${PASSKEY_PREFIX}${username}`, [SK]: PASSKEY_ITEM };
}
