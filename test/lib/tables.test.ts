import { TABLES, TableName } from '../../functions/kernel/tables';
import { PolicyEvaluator } from '../../redteam/iam/policy-evaluator';
import { Synthesized, logicalIdOf, synthesize } from './support/synth';
import { principalRoles } from './support/template-lookup';

const ITEM_ACTIONS = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem', 'Query', 'Scan', 'BatchGetItem', 'BatchWriteItem'] as const;
const TABLE_ADMIN_ACTIONS = ['DeleteTable', 'UpdateTable', 'UpdateTimeToLive', 'RestoreTableToPointInTime', 'ExportTableToPointInTime'] as const;
type ItemAction = (typeof ITEM_ACTIONS)[number];

/**
 * The least each duty needs (DESIGN §4, §5, §7): the ledger is append-only, a nonce is consumed with one
 * conditional put, side effects are written by tool owners, commands by the API, the kernel agent and the signer;
 * classified records are read by the owners of a tool that reads them.
 */
function expectedTableAccess(s: Synthesized, principal: string, table: TableName): ItemAction[] {
  const agent = s.topology.agents.get(principal);
  const rules: Record<TableName, ItemAction[]> = {
    // Every function appends to its own pending partition; the readers of the sealed log also read it (DESIGN §7).
    ledger: principal === 'sequencer' || principal === 'signer' || principal === 'api' ? ['PutItem', 'GetItem', 'Query'] : ['PutItem'],
    nonces: agent ? ['PutItem'] : [],
    idempotency: agent ? ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'] : principal === 'api' ? ['GetItem', 'PutItem'] : [],
    commands: principal === 'api' ? ['GetItem', 'PutItem', 'UpdateItem'] : principal === 'core' || principal === 'signer' ? ['GetItem', 'UpdateItem'] : [],
    approvals:
      principal === 'api' ? ['GetItem', 'Query', 'Scan'] : principal === 'signer' ? ['GetItem', 'PutItem', 'ConditionCheckItem', 'UpdateItem', 'Query'] : [],
    outbox: principal === 'effects' ? ['GetItem', 'PutItem', 'UpdateItem'] : [],
    continuations: agent && agent.tools.length > 0 ? ['GetItem', 'PutItem'] : [],
    // Classified records: one item by id, for the owners of a tool the topology says reads records (DESIGN §3).
    records: agent && agent.tools.some((t) => s.topology.tool(t).reads.includes('records')) ? ['GetItem'] : [],
  };
  return rules[table];
}

describe('the tables', () => {
  let s: Synthesized;
  let evaluator: PolicyEvaluator;
  let roles: Map<string, string>;
  const tableId = (t: TableName) => logicalIdOf(s.stack, s.stack.data.tables[t]);
  beforeAll(() => {
    s = synthesize();
    evaluator = new PolicyEvaluator(s.json);
    roles = principalRoles(s);
  });

  it('creates every table of TABLES with its keys and TTL attribute', () => {
    s.template.resourceCountIs('AWS::DynamoDB::Table', Object.keys(TABLES).length);
    for (const [name, def] of Object.entries(TABLES) as [TableName, (typeof TABLES)[TableName]][]) {
      const props = s.json.Resources[tableId(name)].Properties!;
      const sortKey = 'sortKey' in def ? def.sortKey : undefined;
      expect(props.KeySchema).toEqual([
        { AttributeName: def.partitionKey, KeyType: 'HASH' },
        ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' }] : []),
      ]);
      expect(props.AttributeDefinitions).toEqual(
        expect.arrayContaining([
          { AttributeName: def.partitionKey, AttributeType: 'S' },
          ...(sortKey ? [{ AttributeName: sortKey.name, AttributeType: sortKey.type }] : []),
        ]),
      );
      if ('ttlAttribute' in def) expect(props.TimeToLiveSpecification).toEqual({ AttributeName: def.ttlAttribute, Enabled: true });
      else expect(props.TimeToLiveSpecification).toBeUndefined();
    }
  });

  it('encrypts every table with the customer managed storage key, with point-in-time recovery and deletion protection', () => {
    const storageKey = logicalIdOf(s.stack, s.stack.data.storageKey);
    s.template.allResourcesProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [storageKey, 'Arn'] } },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      BillingMode: 'PAY_PER_REQUEST',
    });
    expect(s.json.Resources[storageKey].Properties).toMatchObject({ EnableKeyRotation: true });
  });

  /** The partition a principal names in a legitimate request: its own in a table of own partitions. */
  const ownContext = (principal: string, table: TableName): Record<string, string> =>
    'ownPartitions' in TABLES[table]
      ? { 'dynamodb:LeadingKeys': `${principal}#item` }
      : table === 'ledger'
        ? { 'dynamodb:LeadingKeys': principal === 'sequencer' ? 'main' : `${principal}#pending` }
        : table === 'records'
        ? { 'dynamodb:LeadingKeys': principal } // the records sealed for it, in its partition
        : {};

  it('every principal × table × item action is the least its duties need', async () => {
    const wrong: string[] = [];
    for (const [principal, role] of roles) {
      for (const table of Object.keys(TABLES) as TableName[]) {
        const expected = expectedTableAccess(s, principal, table);
        for (const action of ITEM_ACTIONS) {
          const context = ownContext(principal, table);
          const allowed = await evaluator.allows({ caller: { role }, action: `dynamodb:${action}`, resource: tableId(table), context });
          if (allowed !== expected.includes(action)) wrong.push(`${principal} ${allowed ? 'CAN' : 'cannot'} ${action} on ${table}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('in a table several principals write, each writes and reads only partitions of its own (dynamodb:LeadingKeys)', async () => {
    const owned = (Object.keys(TABLES) as TableName[]).filter((t) => 'ownPartitions' in TABLES[t]);
    expect(owned.sort()).toEqual(['continuations', 'idempotency', 'nonces']);
    const names = [...roles.keys()];
    const forged: string[] = [];
    for (const [principal, role] of roles) {
      for (const table of owned) {
        for (const action of ITEM_ACTIONS) {
          const victims = names.filter((n) => n !== principal).map((n) => `${n}#item`);
          // Another's partition, a partition named like a prefix of one's own, and a request naming no partition.
          for (const context of [...victims.map((v) => ({ 'dynamodb:LeadingKeys': v })), { 'dynamodb:LeadingKeys': principal }, {}]) {
            if (await evaluator.allows({ caller: { role }, action: `dynamodb:${action}`, resource: tableId(table), context })) {
              forged.push(`${principal} ${action} on ${table} ${JSON.stringify(context)}`);
            }
          }
        }
      }
    }
    expect(forged).toEqual([]);
  });

  it('an agent cannot spend another agent’s nonce or overwrite its continuation', async () => {
    const edge = { role: roles.get('edge')! };
    const put = (table: TableName, key: string) =>
      evaluator.allows({ caller: edge, action: 'dynamodb:PutItem', resource: tableId(table), context: { 'dynamodb:LeadingKeys': key } });
    expect(await put('nonces', 'analyst#message#5c1e0f3a')).toBe(false);
    expect(await put('continuations', 'analyst#work#5c1e0f3a')).toBe(false);
    expect(await put('idempotency', 'analyst#deliver#abc')).toBe(false);
    expect(await put('nonces', 'edge#message#5c1e0f3a')).toBe(true);
  });

  it('only the effect gateway writes the outbox: no agent can record or overwrite an effect', async () => {
    const writers: string[] = [];
    for (const [principal, role] of roles) {
      for (const action of ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']) {
        if (await evaluator.allows({ caller: { role }, action: `dynamodb:${action}`, resource: tableId('outbox') })) writers.push(`${principal} ${action}`);
      }
    }
    expect(writers).toEqual(['effects PutItem', 'effects UpdateItem']);
  });

  it('only the signer writes approvals: no agent and not the API can forge a vote', async () => {
    const writers: string[] = [];
    for (const [principal, role] of roles) {
      for (const action of ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']) {
        if (await evaluator.allows({ caller: { role }, action: `dynamodb:${action}`, resource: tableId('approvals') })) writers.push(`${principal} ${action}`);
      }
    }
    expect(writers).toEqual(['signer PutItem', 'signer UpdateItem']);
  });

  it('no function can update or delete a ledger entry (append-only)', async () => {
    for (const role of roles.values()) {
      for (const action of ['UpdateItem', 'DeleteItem', 'BatchWriteItem']) {
        expect(await evaluator.allows({ caller: { role }, action: `dynamodb:${action}`, resource: tableId('ledger') })).toBe(false);
      }
    }
  });

  it('the sealed log is written only by the sequencer and the signer; every other function appends only to its own pending partition', async () => {
    const names = [...roles.keys()];
    for (const [principal, role] of roles) {
      const put = (partition: string) =>
        evaluator.allows({ caller: { role }, action: 'dynamodb:PutItem', resource: tableId('ledger'), context: { 'dynamodb:LeadingKeys': partition } });
      const sealer = principal === 'sequencer' || principal === 'signer';
      expect([principal, await put('main')]).toEqual([principal, sealer]);
      expect([principal, await put('main#anchor')]).toEqual([principal, principal === 'signer']);
      expect([principal, await put(`${principal}#pending`)]).toEqual([principal, principal !== 'sequencer']);
      for (const other of names.filter((n) => n !== principal)) expect([principal, other, await put(`${other}#pending`)]).toEqual([principal, other, false]);
      expect([principal, await put('forged')]).toEqual([principal, false]);
      // A request naming no partition is refused: the condition applies to every key it writes.
      expect([principal, await evaluator.allows({ caller: { role }, action: 'dynamodb:PutItem', resource: tableId('ledger') })]).toEqual([principal, false]);
    }
  });

  it('only the sequencer reads the ledger table’s stream', async () => {
    const readers: string[] = [];
    for (const [principal, role] of roles) {
      for (const action of ['GetRecords', 'GetShardIterator', 'DescribeStream']) {
        if (await evaluator.allows({ caller: { role }, action: `dynamodb:${action}`, resource: tableId('ledger'), stream: true })) readers.push(`${principal} ${action}`);
      }
    }
    expect(readers).toEqual(['sequencer GetRecords', 'sequencer GetShardIterator', 'sequencer DescribeStream']);
  });

  it('a consumed nonce can only be put, never read back, overwritten by update or deleted', async () => {
    for (const role of roles.values()) {
      for (const action of ['GetItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan']) {
        expect(await evaluator.allows({ caller: { role }, action: `dynamodb:${action}`, resource: tableId('nonces') })).toBe(false);
      }
    }
  });

  it('no function can delete, reconfigure or restore a table', async () => {
    for (const role of roles.values()) {
      for (const table of Object.keys(TABLES) as TableName[]) {
        for (const action of TABLE_ADMIN_ACTIONS) {
          expect(await evaluator.allows({ caller: { role }, action: `dynamodb:${action}`, resource: tableId(table) })).toBe(false);
        }
      }
    }
  });
});
