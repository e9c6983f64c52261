import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { SecurityError } from '../kernel/errors';
import { formatLabel, parseLabelText } from '../kernel/labels';
import { TABLES } from '../kernel/tables';
import type { RecordSource, SealedRecord } from '../kernel/tools/records';

const READER = TABLES.records.partitionKey;
const ID = TABLES.records.sortKey.name;

/** A record as the table holds it: the ciphertext and the label it was sealed under, nothing in clear. */
interface RecordItem {
  readonly recordId?: unknown;
  readonly label?: unknown;
  readonly ciphertext?: unknown;
}

/**
 * The records table (DESIGN §3: classified data at rest): each item a record sealed for one reader under its level's
 * key, with its label, id and reader in the encryption context, in that reader's partition. The store only moves
 * ciphertext; the kernel's record reader checks the label and opens it (functions/kernel/tools/records.ts). An agent
 * that owns a tool reading records may get items of its own partition; only the record seeder may put them (IAM).
 *
 * @example
 * const store = new RecordStore(doc, tableName(env, 'records'), topology.compartments);
 * const sealed = await store.fetch('chart/P-1001', 'analyst'); // { recordId, label, ciphertext } or undefined
 */
export class RecordStore implements RecordSource {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    /** The topology's compartments: a label naming any other is refused (fail closed). */
    private readonly compartments: ReadonlySet<string>,
  ) {}

  async fetch(recordId: string, reader: string): Promise<SealedRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: { [READER]: reader, [ID]: recordId } }));
    const item = out.Item as RecordItem | undefined;
    if (!item) return undefined;
    if (typeof item.recordId !== 'string' || typeof item.label !== 'string' || typeof item.ciphertext !== 'string') {
      throw new SecurityError('SCHEMA', `record ${recordId} is not a sealed record`);
    }
    return { recordId: item.recordId, label: parseLabelText(item.label, this.compartments), ciphertext: item.ciphertext };
  }

  /** Stores a record sealed for `reader`, replacing any under its id: the record seeder's write (no function's role may). */
  async put(record: SealedRecord, reader: string): Promise<void> {
    const item = { [READER]: reader, [ID]: record.recordId, label: formatLabel(record.label), ciphertext: record.ciphertext };
    await this.doc.send(new PutCommand({ TableName: this.table, Item: item }));
  }
}
