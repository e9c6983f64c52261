import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Level } from '../functions/kernel/labels';
import { EnvelopeCipher } from '../functions/kernel/messages/envelope-cipher';
import type { Topology } from '../functions/kernel/topology/topology';
import { RecordStore } from '../functions/stores/records';
import type { SeedRecord } from './fixtures/patient-records';

export interface SeedRecordsOptions {
  readonly kms: KMSClient;
  readonly doc: DynamoDBDocumentClient;
  /** The level keys: each record is sealed under its label's level. */
  readonly keyArns: Readonly<Record<Level, string>>;
  /** The records table. */
  readonly tableName: string;
  /** Says who reads records: the owners of a tool that reads them, each for the labels its clearance dominates. */
  readonly topology: Topology;
  readonly records: readonly SeedRecord[];
}

/** What was sealed: the number of records, and of copies (one per reader cleared for each). */
export interface SeededRecords {
  readonly records: number;
  readonly copies: number;
}

/**
 * Seals each record for every agent cleared to read it (DESIGN §3: classified data at rest), under its level's key
 * with its id, label and reader in the encryption context and `from` = the record sealer, and puts each copy in the
 * reader's partition of the records table, replacing what is there: seeding again leaves the same records. A record no
 * agent is cleared for is sealed for none. Run by provisioning on one machine (the emulator's admin credentials) and by
 * `agentsec records seed` on AWS (the operator, as the stack's record seeder role).
 *
 * @example
 * await seedRecords({ kms, doc, keyArns: resources.keys, tableName: resources.tables.records, topology, records: hospitalRecords() });
 */
export async function seedRecords(options: SeedRecordsOptions): Promise<SeededRecords> {
  const cipher = new EnvelopeCipher({ kms: options.kms, keyArns: options.keyArns });
  const store = new RecordStore(options.doc, options.tableName, options.topology.compartments);
  const copies = options.records.flatMap((r) => options.topology.recordReadersOf(r.label).map((reader) => ({ ...r, reader: reader.name })));
  await Promise.all(
    copies.map(async ({ recordId, label, reader, body }) => {
      const ciphertext = await cipher.sealRecord({ recordId, label, reader, plaintext: JSON.stringify(body) });
      await store.put({ recordId, label, ciphertext }, reader);
    }),
  );
  return { records: options.records.length, copies: copies.length };
}
