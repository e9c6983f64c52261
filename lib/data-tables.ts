import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { anchorPartition } from '../functions/kernel/ledger/checkpoint-anchor';
import { pendingPartition } from '../functions/kernel/ledger/pending';
import { TABLES, TableName, ownPartitionPattern } from '../functions/kernel/tables';
import { Actor } from './actor';
import { KeyAdministrators, administrationOnlyKeyPolicy, viaDynamoDb } from './key-policy';

/** The sealed log's one chain (functions/kernel/ledger/ledger.ts writes `main` by default). */
const LEDGER_CHAIN = 'main';

export interface DataTablesProps {
  /** Who administers the storage key. @default the account (see {@link KeyAdministrators}) */
  readonly administrators?: KeyAdministrators;
  /** Refuse `DeleteTable` until an operator turns protection off. @default true */
  readonly deletionProtection?: boolean;
  /** What happens to tables and their key when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** DynamoDB item actions, named as IAM names them. */
type ItemAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'ConditionCheckItem' | 'Query' | 'Scan';

const READS: ReadonlySet<ItemAction> = new Set(['GetItem', 'ConditionCheckItem', 'Query', 'Scan']);

/** What DynamoDB server-side encryption asks KMS for on a caller's behalf, read side and write side. */
const STORAGE_KEY_READ = ['kms:Decrypt', 'kms:DescribeKey'];
const STORAGE_KEY_WRITE = [
  ...STORAGE_KEY_READ,
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
];

/**
 * Every table of `TABLES` (keys, TTL as the kernel defines them), with point-in-time recovery and encryption
 * under one customer managed storage key that is usable only through DynamoDB. Access is granted only by
 * the intent-named methods below, each the least a duty needs (DESIGN §3, §7).
 */
export class DataTables extends Construct {
  readonly tables: Readonly<Record<TableName, dynamodb.Table>>;
  /** Encrypts every table at rest; no principal may call KMS with it directly. */
  readonly storageKey: kms.Key;

  constructor(scope: Construct, id: string, props: DataTablesProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.storageKey = new kms.Key(this, 'StorageKey', {
      description: 'AgentSec tables at rest (usable only through DynamoDB)',
      alias: 'alias/agentsec/storage',
      enableKeyRotation: true,
      policy: administrationOnlyKeyPolicy(props.administrators),
      pendingWindow: Duration.days(30),
      removalPolicy,
    });
    // The key policy DynamoDB documents for customer managed keys: the account's principals, through DynamoDB only.
    this.storageKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'UseThroughDynamoDbOnly',
        principals: [new iam.AccountRootPrincipal()],
        actions: [...STORAGE_KEY_WRITE, 'kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:ViaService': viaDynamoDb(Stack.of(this)), 'kms:CallerAccount': Stack.of(this).account },
        },
      }),
    );
    const tables = {} as Record<TableName, dynamodb.Table>;
    for (const [name, def] of Object.entries(TABLES) as [TableName, (typeof TABLES)[TableName]][]) {
      const sortKey = 'sortKey' in def ? def.sortKey : undefined;
      tables[name] = new dynamodb.Table(this, pascal(name), {
        partitionKey: { name: def.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: sortKey && {
          name: sortKey.name,
          type: sortKey.type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
        },
        timeToLiveAttribute: 'ttlAttribute' in def ? def.ttlAttribute : undefined,
        stream: 'stream' in def && def.stream === 'NEW_AND_OLD_IMAGES' ? dynamodb.StreamViewType.NEW_AND_OLD_IMAGES : undefined,
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: this.storageKey,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: props.deletionProtection ?? true,
        removalPolicy,
      });
    }
    this.tables = tables;
  }

  /** `{AGENTSEC_TABLE_COMMANDS: name, ...}`: every table's name under the variable the kernel reads. */
  tableNameEnvironment(): Record<string, string> {
    return Object.fromEntries(
      (Object.keys(TABLES) as TableName[]).map((t) => [TABLES[t].env, this.tables[t].tableName]),
    );
  }

  /**
   * Appends pending ledger entries to the actor's own partition only (`<actor>#pending`, DESIGN §7): one put, no
   * read. The partition authenticates the writer to the sequencer; no one writes the sealed log this way.
   */
  grantLedgerAppend(actor: Actor): void {
    this.grantLedgerPut(actor, [pendingPartition(actor.actorName)]);
  }

  /** Reads the sealed log (audit, verification, proofs, checkpoints); reads are all the ledger gives beyond appends. */
  grantLedgerReading(actor: Actor): void {
    this.grant(actor, 'ledger', ['GetItem', 'Query']);
  }

  /** The sequencer: reads the ledger's stream and the sealed log, and writes the sealed log (DESIGN §7). */
  grantSequencing(sequencer: Actor): void {
    const streamArn = this.tables.ledger.tableStreamArn;
    if (!streamArn) throw new Error('the ledger table has no stream');
    sequencer.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], resources: [streamArn] }),
    );
    // ListStreams has no resource-level permissions; the event source mapping calls it.
    sequencer.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }));
    this.grantLedgerReading(sequencer);
    this.grantLedgerPut(sequencer, [LEDGER_CHAIN]);
  }

  /**
   * The signer alone appends signed checkpoints to the sealed log and moves the checkpoint anchor, kept outside the
   * chain so truncation shows (DESIGN §7).
   */
  grantCheckpointAnchor(signer: Actor): void {
    this.grantLedgerReading(signer);
    this.grantLedgerPut(signer, [LEDGER_CHAIN, anchorPartition(LEDGER_CHAIN)]);
  }

  /** PutItem on the ledger, only in the named partitions (`dynamodb:LeadingKeys`). */
  private grantLedgerPut(actor: Actor, partitions: string[]): void {
    this.grant(actor, 'ledger', ['PutItem'], {
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': partitions },
      // ForAllValues holds for a request that names no partition key: require one.
      Null: { 'dynamodb:LeadingKeys': 'false' },
    });
  }

  /**
   * Consumes a nonce or message id with a conditional put, and nothing else (single use, DESIGN §4, §5), in its own
   * partitions only: no one spends another's nonces in advance.
   */
  grantSingleUseConsumption(actor: Actor): void {
    this.grantOwn(actor, 'nonces', ['PutItem']);
  }

  /** Powertools idempotency records for the messages this actor handles, in its own partitions. */
  grantIdempotencyRecords(actor: Actor): void {
    this.grantOwn(actor, 'idempotency', ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']);
  }

  /** The API: claims an `idempotency-key` for one command with a conditional put, and reads the claim back. */
  grantIdempotencyKeyClaims(actor: Actor): void {
    this.grantOwn(actor, 'idempotency', ['PutItem', 'GetItem']);
  }

  /** The API: stores a user's command, reads it back for its owner, updates its status. */
  grantCommandIntake(actor: Actor): void {
    this.grant(actor, 'commands', ['PutItem', 'GetItem', 'UpdateItem']);
  }

  /** The kernel agent: reads the command it serves and records progress and the answer. */
  grantCommandProgress(actor: Actor): void {
    this.grant(actor, 'commands', ['GetItem', 'UpdateItem']);
  }

  /** The signer: reads what the user authorized and marks a command awaiting approval (DESIGN §5). */
  grantCommandAuthorityCheck(actor: Actor): void {
    this.grant(actor, 'commands', ['GetItem', 'UpdateItem']);
  }

  /** The API: lists pending requests; it forwards votes to the signer and writes no approval (DESIGN §3, §5). */
  grantApprovalReading(actor: Actor): void {
    this.grant(actor, 'approvals', ['GetItem', 'Query', 'Scan']);
  }

  /** The signer, the only writer of approvals: records pending requests and one vote per approver, and decides. */
  grantApprovalDecisions(actor: Actor): void {
    this.grant(actor, 'approvals', ['PutItem', 'ConditionCheckItem', 'GetItem', 'Query', 'UpdateItem']);
  }

  /** A tool owner: parks work that waits for approvals (expired by TTL), in its own partitions. Effects go through the gateway. */
  grantContinuations(actor: Actor): void {
    this.grantOwn(actor, 'continuations', ['PutItem', 'GetItem']);
  }

  /** The effect gateway, the only writer of the outbox: records each effect once, reads it back, marks it dispatched. */
  grantEffectRecording(gateway: Actor): void {
    this.grant(gateway, 'outbox', ['PutItem', 'GetItem', 'UpdateItem']);
  }

  /**
   * The owner of a tool that reads classified records: gets one record by id, in its own partition only (the records
   * sealed for it, DESIGN §3), so it learns neither which records others hold nor their labels; KMS decides what opens.
   */
  grantRecordReads(actor: Actor): void {
    this.grant(actor, 'records', ['GetItem'], {
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [actor.actorName] },
      // ForAllValues holds for a request without partition keys: require one.
      Null: { 'dynamodb:LeadingKeys': 'false' },
    });
  }

  /** The record seeder, the only writer of records: puts sealed records, and reads nothing back. */
  grantRecordSeeding(seeder: Actor): void {
    this.grant(seeder, 'records', ['PutItem']);
  }

  /**
   * `actions` on items of `table` whose partition key is the actor's own (`<actor>#...`, DESIGN §3): the partition
   * authenticates the writer, because IAM refuses every other (`ForAllValues` over `dynamodb:LeadingKeys`).
   */
  private grantOwn(actor: Actor, table: TableName, actions: readonly ItemAction[]): void {
    if (!('ownPartitions' in TABLES[table])) throw new Error(`table ${table} has no own partitions`);
    this.grant(actor, table, actions, {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [ownPartitionPattern(actor.actorName)] },
      // ForAllValues holds for a request without partition keys (a Scan): require one.
      Null: { 'dynamodb:LeadingKeys': 'false' },
    });
  }

  private grant(actor: Actor, table: TableName, actions: readonly ItemAction[], conditions?: Record<string, Record<string, unknown>>): void {
    actor.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: actions.map((a) => `dynamodb:${a}`),
        resources: [this.tables[table].tableArn],
        ...(conditions ? { conditions } : {}),
      }),
    );
    const writes = actions.some((a) => !READS.has(a));
    actor.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: writes ? STORAGE_KEY_WRITE : STORAGE_KEY_READ,
        resources: [this.storageKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': viaDynamoDb(Stack.of(this)) } },
      }),
    );
  }
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
