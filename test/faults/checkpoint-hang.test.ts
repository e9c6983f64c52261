import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { LedgerEntry } from '../../functions/kernel/ledger/entry';
import { LedgerReader, LedgerWriter } from '../../functions/kernel/ledger/ledger';
import { startLocalCloud } from '../../localstack/local-cloud';
import { topologyCheckpointingEvery } from '../support/checkpoints';
import { FaultInjector } from './support';

/**
 * A signer call that never returns (the function died) must end at its timeout, as a Lambda invocation does:
 * the checkpoint schedule goes on, and stopping the local cloud is not held up by it.
 */
it('a checkpoint call that never returns neither stops later checkpoints nor holds up the local cloud stopping', async () => {
  const faults = FaultInjector.install();
  faults.add({ name: 'the signer dies in its first checkpoint', fault: 'hang', service: 'dynamodb', origins: ['signer'], first: 1 });
  const warnings: string[] = [];
  const cloud = await startLocalCloud({
    prefix: `h${randomUUID().slice(0, 8)}`,
    stateFile: false,
    topology: topologyCheckpointingEvery(3),
    checkpointIntervalMs: 100,
    checkpointTimeoutMs: 500,
    logger: { error: (m: string) => warnings.push(m), warn: (m: string) => warnings.push(m) },
  });
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(awsClientConfig({ endpoint: cloud.state.endpoint })));
  try {
    const location = { doc, tableName: cloud.state.tables.ledger };
    const ledger = new LedgerWriter(location);
    for (let i = 0; i < 3; i++) await ledger.append({ type: 'message.sent', actor: 'core', detail: { i } });
    let entries: LedgerEntry[] = [];
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !entries.some((e) => e.type === 'checkpoint'); ) {
      await new Promise((r) => setTimeout(r, 200));
      entries = await new LedgerReader(location).readAll();
    }
    expect(faults.injected('the signer dies in its first checkpoint')).toBe(1);
    expect(entries.filter((e) => e.type === 'checkpoint')).toHaveLength(1);
    expect(warnings.some((w) => w.includes('ledger checkpoint failed: no answer within 500 ms'))).toBe(true);
  } finally {
    faults.uninstall();
    doc.destroy();
    const started = Date.now();
    await cloud.stop();
    expect(Date.now() - started).toBeLessThan(10_000);
  }
});
