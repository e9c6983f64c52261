import { startLocalCloud } from '../local-cloud';
import { login } from '../cognito';
import { ApiClient } from '../cli/api-client';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { awsClientConfig } from '../../functions/kernel/aws';
import { LedgerReader, verifyChain } from '../../functions/kernel/ledger';

async function main() {
  let t = Date.now();
  const cloud = await startLocalCloud({ compromised: true, stateFile: false, prefix: 'probe', logger: { error: (...a: unknown[]) => console.error('ERR', ...a), warn: () => undefined } });
  console.log('start', Date.now() - t);
  const s = cloud.state;
  const token = async (u: string) => (await login({ endpoint: s.endpoint, userPoolClientId: s.userPoolClientId, username: u, password: s.users.find((x) => x.username === u)!.password })).token;
  const alice = new ApiClient(s.apiUrl, await token('alice'));
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(awsClientConfig({ endpoint: s.endpoint })));
  const texts = process.argv.slice(2);
  const runs = texts.map(async (text) => {
    const t0 = Date.now();
    const { commandId } = await alice.submit({ text, classification: { level: 'SECRET', compartments: ['MEDICAL'] }, allow: ['send_email'] });
    const v = await alice.waitFor(commandId, { timeoutMs: 60000 });
    console.log('---', Date.now() - t0, 'ms', JSON.stringify(v).slice(0, 1500));
    const entries = (await new LedgerReader({ doc, tableName: s.tables.ledger }).readAll()).filter((e) => e.commandId === commandId);
    for (const e of entries) console.log('  ', e.type, e.actor, e.reason ?? '', JSON.stringify(e.detail ?? {}));
  });
  await Promise.all(runs);
  const out = await doc.send(new ScanCommand({ TableName: s.tables.outbox }));
  console.log('outbox', JSON.stringify(out.Items));
  for (const r of cloud.model.requests) console.log('MODEL', r.headers['x-agentsec-model-mode'], r.text.slice(0, 1200));
  console.log('verify', verifyChain(await new LedgerReader({ doc, tableName: s.tables.ledger }).readAll()));
  await cloud.stop();
}
main().catch((e) => { console.error(e); process.exit(1); });
