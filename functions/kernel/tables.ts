/**
 * The DynamoDB tables of AgentSec and their keys. The CDK stack and the local cloud both create tables from
 * this list, and the kernel reads and writes items by these key names.
 */
export interface TableDefinition {
  /** Partition key attribute (string). */
  readonly partitionKey: string;
  /** Sort key attribute and its type, if any. */
  readonly sortKey?: { readonly name: string; readonly type: 'S' | 'N' };
  /** Attribute DynamoDB uses to expire items (epoch seconds), if any. */
  readonly ttlAttribute?: string;
  /** Environment variable through which handlers learn the table's name. */
  readonly env: string;
  /**
   * Several principals write this table, each only partitions named `<principal>#...` (IAM `dynamodb:LeadingKeys`,
   * DESIGN §3): a forged item for another actor is refused by AWS, so the partition authenticates its writer.
   */
  readonly ownPartitions?: true;
  /** The table's stream carries every change with its old and new images (the sequencer reads the ledger's). */
  readonly stream?: 'NEW_AND_OLD_IMAGES';
}

/** The partition key of an item `owner` writes in a table of own partitions. */
export function ownPartition(owner: string, key: string): string {
  return `${owner}#${key}`;
}

/** The `dynamodb:LeadingKeys` pattern of `owner`'s partitions (agent and service names never contain `#`). */
export function ownPartitionPattern(owner: string): string {
  return `${owner}#*`;
}

export const TABLES = {
  /** Commands: the user's text and the answer, both encrypted at their labels; status for the owner. */
  commands: { partitionKey: 'commandId', env: 'AGENTSEC_TABLE_COMMANDS' },
  /**
   * The tamper-evident ledger (DESIGN §7): pending entries in each writer's own partition (`<writer>#pending`), and
   * the sealed log (`main`, gap-free sequence numbers) that the sequencer alone writes from the table's stream.
   */
  ledger: { partitionKey: 'chain', sortKey: { name: 'seq', type: 'N' }, env: 'AGENTSEC_TABLE_LEDGER', stream: 'NEW_AND_OLD_IMAGES' },
  /** Single-use values: directive nonces and consumed message ids, kept until they expire. */
  nonces: { partitionKey: 'nonce', ttlAttribute: 'expiresAt', env: 'AGENTSEC_TABLE_NONCES', ownPartitions: true },
  /** Pending directive requests and the human approvals recorded for them. */
  approvals: { partitionKey: 'requestId', sortKey: { name: 'approver', type: 'S' }, env: 'AGENTSEC_TABLE_APPROVALS' },
  /** Side effects of tools, written once per directive, observable by tests and operators. */
  outbox: { partitionKey: 'effectId', env: 'AGENTSEC_TABLE_OUTBOX' },
  /** An effector's suspended work while a critical tool waits for approvals, sealed to the effector itself. */
  continuations: { partitionKey: 'id', ttlAttribute: 'expiresAt', env: 'AGENTSEC_TABLE_CONTINUATIONS', ownPartitions: true },
  /** Powertools idempotency records for message handling, and the API's idempotency-key claims. */
  idempotency: { partitionKey: 'id', ttlAttribute: 'expiration', env: 'AGENTSEC_TABLE_IDEMPOTENCY', ownPartitions: true },
  /**
   * Classified records tools read (a patient's chart), each sealed under its level's key with its label in the encryption
   * context (DESIGN §3: data at rest), once for each agent cleared to read it, in that agent's partition; written only
   * by the record seeder, read by each reader in its own partition only (IAM `dynamodb:LeadingKeys`).
   */
  records: { partitionKey: 'reader', sortKey: { name: 'recordId', type: 'S' }, env: 'AGENTSEC_TABLE_RECORDS' },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof TABLES;
