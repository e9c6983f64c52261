import { faultSuite, attribute, deadLetterAccounting, outcomeOf, topologyWith } from './support';

/**
 * Throttling as AWS answers it (ThrottlingException from KMS, ProvisionedThroughputExceededException from
 * DynamoDB), injected below the SDK's retry middleware: the SDK's retries and then SQS redelivery absorb it.
 * A throttle is a fault, never evidence of an attack: nothing may be refused or dead-lettered because of one.
 */
const topology = topologyWith({ visibilityTimeoutSeconds: 12 }, 6);
const UNCLASSIFIED = { level: 'UNCLASSIFIED', compartments: [] };
const FUNCTIONS = [...topology.agentNames(), 'signer'];
const suite = faultSuite(topology, { seed: 7, agentOrder: topology.agentNames() });

const refusals = (entries: { type: string; reason?: string }[]) => entries.filter((e) => e.reason !== undefined);

it('throttled KMS and DynamoDB calls are absorbed: every command completes, nothing is refused or done twice', async () => {
  suite.faults.add(
    { name: 'kms throttled', fault: 'throttle', service: 'kms', origins: FUNCTIONS, rate: 0.2 },
    { name: 'dynamodb throttled', fault: 'throttle', service: 'dynamodb', origins: FUNCTIONS, rate: 0.1 },
  );
  const owners = new Map<string, string>();
  const bodies = [
    { text: 'Ask edge to send_email to visitors@example.org about the new visiting hours.', classification: UNCLASSIFIED, allow: ['send_email'] },
    { text: 'Ask the scheduler to schedule_appointment for P-1001 in cardiology.', classification: { level: 'CONFIDENTIAL', compartments: [] }, allow: ['schedule_appointment'] },
    { text: 'Ask the analyst to read_patient_record P-1002 and summarise it.', classification: { level: 'SECRET', compartments: ['MEDICAL'] } },
    { text: 'Ask edge to lookup_public_info about parking.', classification: UNCLASSIFIED },
  ];
  for (const body of bodies) owners.set(await suite.cloud.submit('alice', body), 'alice');
  const outcome = await outcomeOf(suite.cloud, owners, 60_000);
  suite.faults.clear();
  const entries = outcome.ledger.filter((e) => e.commandId !== undefined && owners.has(e.commandId));
  console.log(`throttling: injected ${JSON.stringify(suite.faults.stats.injected)}, absorbed by SDK retries ${suite.faults.stats.absorbed}, surfaced to SQS ${suite.faults.stats.surfaced}`);
  expect(suite.faults.injected()).toBeGreaterThan(10);
  expect(Object.values(outcome.statuses)).toEqual(bodies.map(() => 'completed'));
  expect(outcome.duplicateEffects).toEqual([]);
  expect(outcome.effects.map((e) => e.tool).sort()).toEqual(['schedule_appointment', 'send_email']);
  expect(refusals(entries)).toEqual([]);
});

it('a KMS throttle that outlasts the SDK retries at decryption is retried through SQS, never taken for tampering', async () => {
  const commandId = await suite.cloud.submit('alice', { text: 'Ask edge to lookup_public_info about the cafeteria.', classification: UNCLASSIFIED });
  suite.faults.add({ name: 'edge cannot decrypt', fault: 'throttle', service: 'kms', origins: ['edge'], operations: ['Decrypt'], first: 3 });
  const outcome = await outcomeOf(suite.cloud, new Map([[commandId, 'alice']]), 30_000);
  suite.faults.clear();
  expect(suite.faults.injected('edge cannot decrypt')).toBe(3);
  expect(outcome.statuses[commandId]).toBe('completed');
  expect(refusals(outcome.ledger.filter((e) => e.commandId === commandId))).toEqual([]);
  expect(suite.cloud.logs.some((l) => l.includes('[edge] invocation failed') || l.includes('ThrottlingException'))).toBe(true);
});

it('a single-use write that took effect but whose answer was lost is retried by the SDK without becoming a REPLAY', async () => {
  const commandId = await suite.cloud.submit('alice', { text: 'Ask edge to lookup_public_info about visiting hours.', classification: UNCLASSIFIED });
  suite.faults.add({
    name: 'answer lost after the message was consumed',
    fault: 'throttle',
    at: 'after',
    service: 'dynamodb',
    origins: ['edge'],
    when: (call) => attribute(call.input.Item, 'nonce')?.startsWith('edge#message#') === true,
    first: 1,
  });
  const outcome = await outcomeOf(suite.cloud, new Map([[commandId, 'alice']]), 30_000);
  suite.faults.clear();
  expect(suite.faults.injected('answer lost after the message was consumed')).toBe(1);
  expect(outcome.statuses[commandId]).toBe('completed');
  expect(refusals(outcome.ledger.filter((e) => e.commandId === commandId))).toEqual([]);
});

it('an idempotency record that took effect but whose answer was lost only delays the message', async () => {
  const commandId = await suite.cloud.submit('alice', { text: 'Ask edge to lookup_public_info about the gift shop.', classification: UNCLASSIFIED });
  suite.faults.add({
    name: 'answer lost after the idempotency record',
    fault: 'throttle',
    at: 'after',
    service: 'dynamodb',
    origins: ['edge'],
    operations: ['PutItem'],
    when: (call) => String(call.input.TableName).endsWith('-idempotency'),
    first: 1,
  });
  const outcome = await outcomeOf(suite.cloud, new Map([[commandId, 'alice']]), 30_000);
  suite.faults.clear();
  expect(suite.faults.injected('answer lost after the idempotency record')).toBe(1);
  expect(outcome.statuses[commandId]).toBe('completed');
  expect(refusals(outcome.ledger.filter((e) => e.commandId === commandId))).toEqual([]);
});

it('after throttling, no message was dead-lettered and the ledger verifies', async () => {
  const { deadLetters, verify } = await deadLetterAccounting(suite.cloud);
  expect(deadLetters).toEqual([]);
  expect(verify.ok).toBe(true);
});
