import { PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import embedded from '../../agentsec.config.json';
import { LEVELS, dominates, formatLabel, label } from '../../functions/kernel/labels';
import { EnvelopeCipher, RECORD_SEALER, recordContextOf } from '../../functions/kernel/messages/envelope-cipher';
import { TABLES } from '../../functions/kernel/tables';
import { defineTool, recordsOf } from '../../functions/kernel/tools/tool';
import { parseTopology } from '../../functions/kernel/topology/topology';
import { RecordStore } from '../../functions/stores/records';
import { DEFAULT_TOOLS, ToolRegistry } from '../../functions/tools/registry';
import { CHART_LABEL, REGISTRATION_LABEL, hospitalRecords } from '../../localstack/fixtures/patient-records';
import { seedRecords } from '../../localstack/provision-records';
import { PolicyEvaluator } from '../../redteam/iam/policy-evaluator';
import { Scenario, ToolRuntimeBed } from '../kernel/tools/support';
import { Synthesized, logicalIdOf, synthesize } from '../lib/support/synth';
import { keyIds, principalRoles, taggedResources } from '../lib/support/template-lookup';
import { createLevelKeys, createTable, documentClient, kms, unique } from '../support/aws';
import { countingKms } from '../support/kms-calls';

/** A tool that reads any record by id, at CONFIDENTIAL: owned by the scheduler (CONFIDENTIAL) and the analyst (SECRET/MEDICAL). */
const peekRecord = defineTool({
  name: 'peek_record',
  argsName: 'PeekRecordArgs',
  args: z.strictObject({ recordId: z.string().min(1) }),
  reads: ['records'],
  async execute({ recordId }, ctx) {
    const record = await recordsOf(ctx).read(recordId);
    return { content: record ? JSON.stringify(record.body) : 'none' };
  },
});
const topology = parseTopology({
  ...embedded,
  tools: {
    ...embedded.tools,
    peek_record: {
      description: 'Reads a record by id (test only).',
      priority: 'low',
      owners: ['scheduler', 'analyst'],
      args: 'PeekRecordArgs',
      reads: ['records'],
      resultLabel: { level: 'CONFIDENTIAL', compartments: [] },
    },
  },
});
const registry = new ToolRegistry(topology, [...DEFAULT_TOOLS, peekRecord]);
const peek = (recordId: string) => ({ tool: 'peek_record', args: { recordId } });
const chart = hospitalRecords().find((r) => r.recordId === 'chart/P-1001')!;

/**
 * DESIGN §2, §3: classified records live sealed in the records table, each copy sealed for one reader under its level's
 * key with its label in the encryption context. The kernel refuses a record its reader's clearance (or its tool's result
 * label) does not dominate before KMS is called; KMS refuses the rest. The emulator does not enforce IAM, so the KMS
 * half is judged by the policy evaluator over the synthesized template.
 */
describe('a tool reads only records its agent’s clearance dominates (KMS refuses the rest)', () => {
  let bed: ToolRuntimeBed;
  let store: RecordStore;
  let sealer: EnvelopeCipher;
  let reading: ReturnType<typeof countingKms>;
  let access: { source: RecordStore; cipher: EnvelopeCipher };
  let table: string;
  const run = (s: Scenario, call: ReturnType<typeof peek>) => s.run(call, { registry, records: access });
  const decrypts = () => reading.calls.filter((c) => c === 'Decrypt').length;

  beforeAll(async () => {
    const [keyArns, records] = await Promise.all([
      createLevelKeys(),
      createTable(unique('records'), TABLES.records.partitionKey, TABLES.records.sortKey.name, 'S'),
    ]);
    table = records;
    bed = await ToolRuntimeBed.create(topology);
    store = new RecordStore(documentClient(), table, topology.compartments);
    sealer = new EnvelopeCipher({ kms: kms(), keyArns });
    reading = countingKms();
    access = { source: store, cipher: new EnvelopeCipher({ kms: reading.client, keyArns }) };
    await seedRecords({ kms: kms(), doc: documentClient(), keyArns, tableName: table, topology, records: hospitalRecords() });
  });
  beforeEach(() => reading.reset());

  it('the analyst reads a chart and the scheduler a registration, each through the copy sealed for it', async () => {
    const analyst = bed.scenario('analyst');
    const read = await analyst.run({ tool: 'read_patient_record', args: { patientId: 'P-1001' } }, { registry, records: access });
    expect(read.content).toContain('Margaret Hollis');
    expect(formatLabel(read.label)).toBe('SECRET/MEDICAL');
    expect(decrypts()).toBe(1);
    expect(JSON.parse((await run(bed.scenario('scheduler'), peek('registration/P-1001'))).content)).toEqual({ patientId: 'P-1001' });
    // The seeder sealed no chart for the scheduler: there is nothing in its partition to read.
    expect((await run(bed.scenario('scheduler'), peek('chart/P-1001'))).content).toBe('none');
    expect(await store.fetch('chart/P-1001', 'scheduler')).toBeUndefined();
    expect(await store.fetch('chart/P-1001', 'analyst')).toMatchObject({ recordId: 'chart/P-1001', label: CHART_LABEL });
  });

  it('a record above the reader’s clearance is refused by the kernel before KMS is called (READ_UP), and ledgered', async () => {
    // A misdirected seeding: the chart sealed for the scheduler, in the scheduler's partition.
    const ciphertext = await sealer.sealRecord({ recordId: chart.recordId, label: CHART_LABEL, reader: 'scheduler', plaintext: JSON.stringify(chart.body) });
    await store.put({ recordId: chart.recordId, label: CHART_LABEL, ciphertext }, 'scheduler');
    const scheduler = bed.scenario('scheduler');
    await scheduler.refused(peek(chart.recordId), 'READ_UP', { registry, records: access });
    expect(decrypts()).toBe(0);
    expect((await scheduler.entries()).map((e) => [e.type, e.reason])).toEqual([['tool.denied', 'READ_UP']]);
  });

  it('a record above the tool’s result label is refused before KMS is called (WRITE_DOWN)', async () => {
    // The analyst may read the chart, but not through a CONFIDENTIAL tool: its result would be labelled below its content.
    await bed.scenario('analyst').refused(peek(chart.recordId), 'WRITE_DOWN', { registry, records: access });
    expect(decrypts()).toBe(0);
  });

  it('a copy moved to another reader’s partition, or relabelled there, is refused before KMS is called', async () => {
    const analystCopy = (await store.fetch(chart.recordId, 'analyst'))!;
    // Relabelled CONFIDENTIAL in the scheduler's partition: the label check passes, the sealed context (label, to) does not.
    await store.put({ ...analystCopy, label: REGISTRATION_LABEL }, 'scheduler');
    await bed.scenario('scheduler').refused(peek(chart.recordId), 'CONTEXT_MISMATCH', { registry, records: access });
    expect(decrypts()).toBe(0);
    // The analyst's registration copy moved under another id: the id is bound too.
    const registration = (await store.fetch('registration/P-1002', 'analyst'))!;
    await store.put({ ...registration, recordId: 'registration/P-1001' }, 'analyst');
    await bed.scenario('analyst').refused(peek('registration/P-1001'), 'CONTEXT_MISMATCH', { registry, records: access });
    expect(decrypts()).toBe(0);
  });

  it('a record the store holds in clear or malformed is refused, never shown', async () => {
    await documentClient().send(
      new PutCommand({ TableName: table, Item: { reader: 'scheduler', recordId: 'registration/P-1003', label: 'CONFIDENTIAL', ciphertext: 'not base64!' } }),
    );
    await bed.scenario('scheduler').refused(peek('registration/P-1003'), 'TAMPERED', { registry, records: access });
    await documentClient().send(new PutCommand({ TableName: table, Item: { reader: 'scheduler', recordId: 'registration/P-1004', body: '{"patientId":"P-1004"}' } }));
    await bed.scenario('scheduler').refused(peek('registration/P-1004'), 'SCHEMA', { registry, records: access });
    expect(decrypts()).toBe(0);
  });

  describe('KMS and IAM, on the synthesized template', () => {
    let s: Synthesized;
    let evaluator: PolicyEvaluator;
    let roles: Map<string, string>;
    let keys: ReturnType<typeof keyIds>;
    let seeder: string;
    beforeAll(() => {
      s = synthesize();
      evaluator = new PolicyEvaluator(s.json);
      roles = principalRoles(s);
      keys = keyIds(s);
      [seeder] = taggedResources(s.json.Resources, 'AWS::IAM::Role', 'agentsec:purpose', 'record-seeder');
    });
    const asKms = (context: Record<string, string>) => Object.fromEntries(Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]));

    it('only the addressee decrypts a record, and only when its clearance dominates the record’s label (identity and key policies)', async () => {
      const wrong: string[] = [];
      for (const record of hospitalRecords()) {
        for (const addressee of s.topology.agentNames()) {
          const context = asKms(recordContextOf({ recordId: record.recordId, label: record.label, reader: addressee }));
          for (const [principal, role] of [...roles, ['record-seeder', seeder] as const]) {
            const agent = s.topology.agents.get(principal);
            const expected = principal === addressee && agent !== undefined && dominates(agent.clearance, record.label);
            const allowed = await evaluator.allows({ caller: { role }, action: 'kms:Decrypt', resource: keys.get(record.label.level)!, context });
            if (allowed !== expected) wrong.push(`${principal} ${allowed ? 'CAN' : 'cannot'} open ${record.recordId} sealed for ${addressee}`);
          }
        }
      }
      expect(wrong).toEqual([]);
      // The copies the seeder makes are exactly for the readers IAM lets open them: charts for the analyst alone.
      expect(s.topology.recordReadersOf(CHART_LABEL).map((a) => a.name)).toEqual(['analyst']);
      expect(s.topology.recordReadersOf(REGISTRATION_LABEL).map((a) => a.name).sort()).toEqual(['analyst', 'scheduler']);
    });

    it('each agent gets only the records of its own partition, and only the owners of a tool reading records get any', async () => {
      const readers = s.topology.recordReaders().map((a) => a.name);
      const wrong: string[] = [];
      for (const [principal, role] of roles) {
        for (const partition of s.topology.agentNames()) {
          const allowed = await evaluator.allows({
            caller: { role },
            action: 'dynamodb:GetItem',
            resource: logicalIdOf(s.stack, s.stack.data.tables.records),
            context: { 'dynamodb:LeadingKeys': partition },
          });
          if (allowed !== (principal === partition && readers.includes(principal))) wrong.push(`${principal} ${allowed ? 'CAN' : 'cannot'} get ${partition}'s records`);
        }
      }
      expect(wrong).toEqual([]);
      expect(readers.sort()).toEqual(['analyst', 'scheduler']);
    });

    it('only the record seeder seals records, as the record sealer only, and it opens nothing', async () => {
      const sealers: string[] = [];
      for (const [principal, role] of [...roles, ['record-seeder', seeder] as const]) {
        for (const level of LEVELS) {
          const context = asKms(recordContextOf({ recordId: 'chart/P-1001', label: label(level), reader: 'analyst' }));
          if (await evaluator.allows({ caller: { role }, action: 'kms:GenerateDataKey', resource: keys.get(level)!, context })) sealers.push(`${principal}@${level}`);
        }
      }
      expect(sealers).toEqual(LEVELS.map((l) => `record-seeder@${l}`));
      for (const level of LEVELS) {
        const asCore = { 'kms:EncryptionContext:from': 'core', 'kms:EncryptionContext:to': 'analyst', 'kms:EncryptionContext:label': level };
        expect(await evaluator.allows({ caller: { role: seeder }, action: 'kms:GenerateDataKey', resource: keys.get(level)!, context: asCore })).toBe(false);
        const notARecord = { 'kms:EncryptionContext:from': RECORD_SEALER, 'kms:EncryptionContext:to': 'analyst', 'kms:EncryptionContext:label': level };
        expect(await evaluator.allows({ caller: { role: seeder }, action: 'kms:GenerateDataKey', resource: keys.get(level)!, context: notARecord })).toBe(false);
        const toSeeder = asKms(recordContextOf({ recordId: 'r', label: label(level), reader: RECORD_SEALER }));
        expect(await evaluator.allows({ caller: { role: seeder }, action: 'kms:Decrypt', resource: keys.get(level)!, context: toSeeder })).toBe(false);
      }
      const tables = Object.keys(TABLES) as Array<keyof typeof TABLES>;
      const writes: string[] = [];
      for (const t of tables) {
        for (const action of ['PutItem', 'GetItem', 'UpdateItem', 'DeleteItem']) {
          if (await evaluator.allows({ caller: { role: seeder }, action: `dynamodb:${action}`, resource: logicalIdOf(s.stack, s.stack.data.tables[t]) })) writes.push(`${action} ${t}`);
        }
      }
      expect(writes).toEqual(['PutItem records']);
    });
  });
});
