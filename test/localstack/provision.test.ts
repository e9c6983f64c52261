import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  AdminGetUserCommand,
  DescribeUserPoolClientCommand,
  DescribeUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, ListAliasesCommand, ListResourceTagsCommand, SignCommand } from '@aws-sdk/client-kms';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { readEnvironment } from '../../functions/platform/environment';
import { LEVELS, formatLabel } from '../../functions/kernel/labels';
import { EnvelopeCipher } from '../../functions/kernel/messages/envelope-cipher';
import { CHART_LABEL, PATIENT_RECORDS, hospitalRecords } from '../../localstack/fixtures/patient-records';
import { TABLES, TableName } from '../../functions/kernel/tables';
import { login } from '../../localstack/cognito';
import { readLocalState, writeLocalState } from '../../localstack/local-state';
import { environmentFor, provisionLocalCloud } from '../../localstack/provision';
import { documentClient, dynamo, emulatorEndpoint, kms } from '../support/aws';
import { cognito, sqs, topologyWith, uniquePrefix } from './support';

const topology = topologyWith({ visibilityTimeoutSeconds: 7, maxReceiveCount: 4 });

describe('provisioning the local cloud', () => {
  const prefix = uniquePrefix('prov');
  let resources: Awaited<ReturnType<typeof provisionLocalCloud>>;

  beforeAll(async () => {
    resources = await provisionLocalCloud({ endpoint: emulatorEndpoint(), topology, prefix });
  });

  it('creates one symmetric key per level, tagged agentsec:level and aliased alias/<prefix>-<level>', async () => {
    expect(Object.keys(resources.keys)).toEqual([...LEVELS]);
    for (const level of LEVELS) {
      const key = (await kms().send(new DescribeKeyCommand({ KeyId: `alias/${prefix}-${level}` }))).KeyMetadata!;
      expect(key.Arn).toBe(resources.keys[level]);
      expect(key.KeySpec).toBe('SYMMETRIC_DEFAULT');
      const tags = (await kms().send(new ListResourceTagsCommand({ KeyId: key.KeyId }))).Tags;
      expect(tags).toContainEqual({ TagKey: 'agentsec:level', TagValue: level });
    }
    expect(new Set(Object.values(resources.keys)).size).toBe(LEVELS.length);
  });

  it('creates the authority key as ECC_NIST_P256 SIGN_VERIFY tagged agentsec:purpose=authority', async () => {
    const key = (await kms().send(new DescribeKeyCommand({ KeyId: resources.authorityKeyArn }))).KeyMetadata!;
    expect(key).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', KeyState: 'Enabled' });
    const tags = (await kms().send(new ListResourceTagsCommand({ KeyId: key.KeyId }))).Tags;
    expect(tags).toContainEqual({ TagKey: 'agentsec:purpose', TagValue: 'authority' });
    const sig = await kms().send(
      new SignCommand({ KeyId: resources.authorityKeyArn, Message: Buffer.from('x'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    expect(sig.Signature?.length).toBeGreaterThan(0);
  });

  it("gives every agent a queue redriven after the topology's receive count to its failed queue, and that to its DLQ", async () => {
    expect(Object.keys(resources.queues).sort()).toEqual(topology.agentNames().sort());
    expect(Object.keys(resources.failedQueues).sort()).toEqual(topology.agentNames().sort());
    expect(Object.keys(resources.dlqs).sort()).toEqual(topology.agentNames().sort());
    const attributes = async (url: string) => (await sqs().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes!;
    for (const agent of topology.agentNames()) {
      const [queue, failed, dlq] = await Promise.all([resources.queues[agent], resources.failedQueues[agent], resources.dlqs[agent]].map(attributes));
      expect(queue.VisibilityTimeout).toBe('7');
      expect(JSON.parse(queue.RedrivePolicy!)).toEqual({ deadLetterTargetArn: failed.QueueArn, maxReceiveCount: 4 });
      expect(JSON.parse(failed.RedrivePolicy!)).toEqual({ deadLetterTargetArn: dlq.QueueArn, maxReceiveCount: topology.runtime.maxReceiveCount + topology.runtime.failedMaxReceiveCount });
      expect(dlq.RedrivePolicy).toBeUndefined();
    }
  });

  it('creates every table of TABLES with its keys and TTL attribute enabled', async () => {
    expect(Object.keys(resources.tables).sort()).toEqual(Object.keys(TABLES).sort());
    for (const [table, def] of Object.entries(TABLES)) {
      const name = resources.tables[table as TableName];
      const t = (await dynamo().send(new DescribeTableCommand({ TableName: name }))).Table!;
      expect(t.KeySchema).toEqual([
        { AttributeName: def.partitionKey, KeyType: 'HASH' },
        ...('sortKey' in def ? [{ AttributeName: def.sortKey.name, KeyType: 'RANGE' }] : []),
      ]);
      if ('ttlAttribute' in def) {
        const ttl = (await dynamo().send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription;
        expect(ttl).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: def.ttlAttribute });
      }
    }
  });

  it('creates a user pool with clearance attributes and a USER_PASSWORD_AUTH client that cannot write them', async () => {
    const pool = (await cognito().send(new DescribeUserPoolCommand({ UserPoolId: resources.userPoolId }))).UserPool!;
    const names = pool.SchemaAttributes!.map((a) => a.Name);
    expect(names).toEqual(expect.arrayContaining(['custom:clearance', 'custom:compartments']));
    const client = (
      await cognito().send(new DescribeUserPoolClientCommand({ UserPoolId: resources.userPoolId, ClientId: resources.userPoolClientId }))
    ).UserPoolClient!;
    expect(client.ExplicitAuthFlows).toContain('ALLOW_USER_PASSWORD_AUTH');
    expect(client.ReadAttributes).toEqual(expect.arrayContaining(['custom:clearance', 'custom:compartments']));
    expect(client.WriteAttributes?.length).toBeGreaterThan(0);
    expect(client.WriteAttributes!.filter((a) => a.startsWith('custom:'))).toEqual([]);
  });

  it("seeds the topology's users with their clearance and distinct strong passwords", async () => {
    expect(resources.users.map((u) => u.username)).toEqual(topology.users.map((u) => u.username));
    for (const user of resources.users) {
      const expected = topology.users.find((u) => u.username === user.username)!.clearance;
      expect(user.clearance).toEqual({ level: expected.level, compartments: [...expected.compartments] });
      expect(user.password).toMatch(/^(?=.*[A-Z])(?=.*[a-z])(?=.*\d)(?=.*[^A-Za-z0-9]).{32,}$/);
      const got = await cognito().send(new AdminGetUserCommand({ UserPoolId: resources.userPoolId, Username: user.username }));
      const attrs = Object.fromEntries(got.UserAttributes!.map((a) => [a.Name, a.Value]));
      expect(attrs['custom:clearance']).toBe(expected.level);
      expect(attrs['custom:compartments'] ?? '').toBe(expected.compartments.join(','));
    }
    expect(new Set(resources.users.map((u) => u.password)).size).toBe(resources.users.length);
  });

  it('provisioning again with the same prefix reuses every resource', async () => {
    const passwords = Object.fromEntries(resources.users.map((u) => [u.username, u.password]));
    const again = await provisionLocalCloud({ endpoint: emulatorEndpoint(), topology, prefix, passwords });
    expect(again).toEqual(resources);
    const aliases = (await kms().send(new ListAliasesCommand({ Limit: 1000 }))).Aliases!.filter((a) => a.AliasName!.startsWith(`alias/${prefix}-`));
    expect(aliases).toHaveLength(LEVELS.length + 1);
    const alice = resources.users.find((u) => u.username === 'alice')!;
    await expect(login({ endpoint: emulatorEndpoint(), userPoolClientId: resources.userPoolClientId, ...alice })).resolves.toBeDefined();
  });

  it('seals the classified records into the records table, one copy per cleared reader, nothing in clear, again the same', async () => {
    const items = async () =>
      ((await documentClient().send(new ScanCommand({ TableName: resources.tables.records }))).Items ?? [])
        .sort((a, b) => `${a.reader}/${a.recordId}`.localeCompare(`${b.reader}/${b.recordId}`));
    const first = await items();
    const expected = hospitalRecords().flatMap((r) => topology.recordReadersOf(r.label).map((a) => `${a.name} ${r.recordId} ${formatLabel(r.label)}`));
    expect(first.map((i) => `${i.reader} ${i.recordId} ${i.label}`).sort()).toEqual(expected.sort());
    expect(first.map((i) => Object.keys(i).sort())).toEqual(first.map(() => ['ciphertext', 'label', 'reader', 'recordId']));
    const stored = JSON.stringify(first);
    for (const r of PATIENT_RECORDS) for (const value of [r.name, r.address, r.passcode, r.diagnosis]) expect(stored).not.toContain(value);
    // Each copy opens for its reader, under its id and label.
    const cipher = new EnvelopeCipher({ kms: kms(), keyArns: resources.keys });
    const chart = first.find((i) => i.reader === 'analyst' && i.recordId === 'chart/P-1001')!;
    const opened = await cipher.openRecord({ recordId: 'chart/P-1001', label: CHART_LABEL, reader: 'analyst', ciphertext: chart.ciphertext });
    expect(JSON.parse(opened.toString('utf8'))).toMatchObject({ patientId: 'P-1001', name: 'Margaret Hollis' });
    await provisionLocalCloud({ endpoint: emulatorEndpoint(), topology, prefix, passwords: Object.fromEntries(resources.users.map((u) => [u.username, u.password])) });
    expect((await items()).map((i) => `${i.reader} ${i.recordId} ${i.label}`)).toEqual(first.map((i) => `${i.reader} ${i.recordId} ${i.label}`));
  });

  it('provisioning never takes a symmetric key as the authority key', async () => {
    const other = uniquePrefix('prov');
    const impostor = (await kms().send(new CreateKeyCommand({ Tags: [{ TagKey: 'agentsec:purpose', TagValue: 'authority' }] }))).KeyMetadata!;
    await kms().send(new CreateAliasCommand({ AliasName: `alias/${other}-authority`, TargetKeyId: impostor.KeyId }));
    await expect(provisionLocalCloud({ endpoint: emulatorEndpoint(), topology, prefix: other })).rejects.toThrow(
      /not an enabled ECC_NIST_P256 SIGN_VERIFY key/,
    );
  });

  it("writes local.json with DESIGN §10's fields and the failed queues, nothing else, readable only by its owner", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'agentsec-')), '.agentsec', 'local.json');
    const state = { ...resources, apiUrl: 'http://localhost:8080', modelUrl: 'http://localhost:8787/v1', consoleUrl: 'http://localhost:8081' };
    writeLocalState(file, state);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(json).sort()).toEqual(
      ['apiUrl', 'authorityKeyArn', 'consoleUrl', 'dlqs', 'endpoint', 'failedQueues', 'keys', 'modelUrl', 'queues', 'region', 'tables', 'userPoolClientId', 'userPoolId', 'users'].sort(),
    );
    expect(Object.keys(json.tables).sort()).toEqual(Object.keys(TABLES).sort());
    expect(json.tables).toEqual(expect.objectContaining({ commands: expect.any(String), ledger: expect.any(String) }));
    expect(Object.keys(json.keys)).toEqual([...LEVELS]);
    for (const u of json.users) expect(Object.keys(u).sort()).toEqual(['clearance', 'password', 'username']);
    expect(json.users.find((u: { username: string }) => u.username === 'carol').clearance).toEqual({ level: 'SECRET', compartments: ['MEDICAL'] });
    expect(readLocalState(file)).toEqual(state);
  });

  it("hands an agent's handler the kernel environment with only the queues of its own edges", () => {
    const env = environmentFor(resources, { agent: 'analyst', sendsTo: topology.agent('analyst').sendsTo });
    const parsed = readEnvironment(env);
    expect(parsed.AGENTSEC_AGENT).toBe('analyst');
    expect(parsed.AGENTSEC_QUEUE_URLS).toEqual({ core: resources.queues.core });
    expect(parsed.AGENTSEC_KEY_ARNS).toEqual(resources.keys);
    expect(parsed.AGENTSEC_TABLE_LEDGER).toBe(resources.tables.ledger);
    expect(env.AGENTSEC_AWS_ENDPOINT).toBe(emulatorEndpoint());
    expect(env.AGENTSEC_DLQ_URL).toBe(resources.dlqs.analyst);
    expect(env.AGENTSEC_FAILED_QUEUE_URL).toBe(resources.failedQueues.analyst);
    expect(() => environmentFor(resources, { agent: 'analyst', sendsTo: ['nobody'] })).toThrow(/no queue for agent "nobody"/);
  });
});
