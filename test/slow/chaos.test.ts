import type { CommandRequestBody } from '../../cli/api-client';
import { FaultCloud, FaultInjector, account, describeAccounting, topologyWith } from '../faults/support';
import { inParallel } from './support';

/**
 * Every fault at once, at random points, under load: throttling of KMS and DynamoDB calls, functions that
 * crash (a non-retryable error) or die (hang until their timeout) anywhere in their work, across every agent
 * and the signer. The accounting must still hold: every accepted command ends, every side effect happens
 * once, every dead letter has its ledger entry, the ledger verifies.
 */
const COMMANDS = 60;
const topology = topologyWith({ visibilityTimeoutSeconds: 20 }, 10);
const FUNCTIONS = [...topology.agentNames(), 'signer'];
const UNCLASSIFIED = { level: 'UNCLASSIFIED', compartments: [] };

const MIX: ((i: number) => { user: string; body: CommandRequestBody })[] = [
  (i) => ({ user: 'alice', body: { text: `Ask edge to send_email to ward${i}@example.org about the new visiting hours.`, classification: UNCLASSIFIED, allow: ['send_email'] } }),
  (i) => ({ user: 'bob', body: { text: `Ask the scheduler to schedule_appointment for P-100${(i % 5) + 1} in cardiology.`, classification: { level: 'CONFIDENTIAL', compartments: [] }, allow: ['schedule_appointment'] } }),
  (i) => ({ user: 'carol', body: { text: `Ask the analyst to read_patient_record P-100${(i % 5) + 1} and summarise it.`, classification: { level: 'SECRET', compartments: ['MEDICAL'] } } }),
  // A rule-built release one level down, no compartment dropped: the pre-authorization covers it (DESIGN §6).
  () => ({ user: 'alice', body: { text: `Call the tool edge with ${JSON.stringify({ task: 'Please lookup_public_info about parking for Patient John Smith.', release: { rule: 'car-park-level', fields: { level: '2' } } })}`, classification: { level: 'CONFIDENTIAL', compartments: [] }, declassifyTo: 'UNCLASSIFIED' } }),
];

let cloud: FaultCloud;
let faults: FaultInjector;
beforeAll(async () => {
  faults = FaultInjector.install({ seed: 2026, agentOrder: topology.agentNames() });
  cloud = await FaultCloud.start({ topology });
});
afterAll(async () => {
  faults?.uninstall();
  await cloud?.stop();
});

it('under throttling, crashes and dead functions at random points, the accounting holds', async () => {
  faults.add(
    { name: 'function dies', fault: 'hang', service: 'dynamodb', origins: FUNCTIONS, rate: 0.003 },
    { name: 'function dies after a write', fault: 'hang', at: 'after', service: 'dynamodb', origins: FUNCTIONS, operations: ['PutItem', 'UpdateItem', 'TransactWriteItems'], rate: 0.003 },
    { name: 'function crashes', fault: 'crash', service: 'dynamodb', origins: FUNCTIONS, rate: 0.01 },
    { name: 'function dies sending', fault: 'hang', at: 'after', service: 'sqs', origins: FUNCTIONS, operations: ['SendMessage'], rate: 0.01 },
    { name: 'kms throttled', fault: 'throttle', service: 'kms', origins: FUNCTIONS, rate: 0.1 },
    { name: 'dynamodb throttled', fault: 'throttle', service: 'dynamodb', origins: FUNCTIONS, rate: 0.1 },
  );
  const runs = Array.from({ length: COMMANDS }, (_, i) => MIX[i % MIX.length](i));
  const started = Date.now();
  const accepted = await inParallel(10, runs, async (r) => ({ ...r, commandId: await cloud.submit(r.user, r.body) }));
  const owners = new Map(accepted.map((a) => [a.commandId, a.user]));
  const result = await account(cloud, owners, 8 * 60_000);
  faults.clear();

  // An effect may precede a failure later in its command (the booking is made, the answer is never composed):
  // what must hold is that every effect was allowed by its command's owner, and happened once.
  const wanted = accepted.flatMap((a) => (a.body.allow ?? []).map((t) => `${a.commandId}|${t}`)).sort();
  const done = result.effects.map((e) => `${e.commandId}|${e.tool}`).sort();
  console.log(
    [
      `chaos: ${COMMANDS} commands in ${((Date.now() - started) / 1000).toFixed(1)} s; faults injected ${JSON.stringify(faults.stats.injected)}`,
      `SDK retries absorbed ${faults.stats.absorbed} calls; ${faults.stats.surfaced} faults reached a handler`,
      describeAccounting(result),
      `dead letters: ${result.deadLetters.map((d) => `${d.agent}:${d.rejectedFor ?? 'retries exhausted'}`).join(', ') || 'none'}`,
      `invocation failures by error: ${JSON.stringify(countBy(cloud.logs.filter((l) => l.includes('invocation failed')).map((l) => /failed: (\w+)/.exec(l)?.[1] ?? '?')))}`,
      `unledgered dead letters: ${result.unledgered.map((d) => `${d.agent} ${d.sqsMessageId}: ${JSON.stringify(result.ledger.filter((e) => e.messageId === d.claimedId || e.detail?.sqsMessageId === d.sqsMessageId).map((e) => [e.type, e.actor, e.reason ?? '', e.detail?.sqsMessageId ?? '']))}`).join('; ') || 'none'}`,
    ].join('\n'),
  );
  expect(result.nonTerminal).toEqual([]);
  expect(result.duplicateEffects).toEqual([]);
  expect(done.filter((k) => !wanted.includes(k))).toEqual([]);
  expect(result.unledgered).toEqual([]);
  expect(result.verify).toMatchObject({ ok: true });
});

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
