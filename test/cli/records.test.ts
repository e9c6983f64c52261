import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../../functions/kernel/tables';
import { loadTopology } from '../../functions/kernel/topology/topology';
import { hospitalRecords } from '../../localstack/fixtures/patient-records';
import { createLevelKeys, createTable, documentClient, unique } from '../support/aws';
import { agentsec } from './support';

/** `agentsec records seed`: the operator's way to put classified records at rest in a deployed stack (DESIGN §3). */
describe('agentsec records seed', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'agentsec-records-'));

  it('seals every record for each agent cleared to read it into the table the stack outputs name, and again the same', async () => {
    const [keyArns, table] = await Promise.all([
      createLevelKeys(),
      createTable(unique('records'), TABLES.records.partitionKey, TABLES.records.sortKey.name, 'S'),
    ]);
    // What `cdk deploy --outputs-file` writes: JSON strings under the stack's name.
    const outputs = path.join(scratch, 'cdk-outputs.json');
    const tableNames = { [TABLES.records.env]: table, [TABLES.ledger.env]: 'unused' };
    writeFileSync(outputs, JSON.stringify({ AgentSec: { KeyArns: JSON.stringify(keyArns), TableNames: JSON.stringify(tableNames), Region: 'us-east-1' } }));
    const topology = loadTopology();
    const copies = hospitalRecords().reduce((n, r) => n + topology.recordReadersOf(r.label).length, 0);
    for (let run = 0; run < 2; run++) {
      const result = await agentsec(scratch, ['records', 'seed', '--outputs', outputs, '--json']);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(result.stdout)).toEqual({ table, records: hospitalRecords().length, copies });
      const items = (await documentClient().send(new ScanCommand({ TableName: table }))).Items ?? [];
      expect(items).toHaveLength(copies);
      expect(JSON.stringify(items)).not.toContain('Margaret Hollis');
    }
  });

  it('says in one sentence where the stack outputs are missing, and exits 1', async () => {
    const result = await agentsec(scratch, ['records', 'seed', '--outputs', path.join(scratch, 'nowhere.json')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^agentsec: no stack outputs at .*nowhere\.json: deploy with `cdk deploy --outputs-file/);
  });
});
