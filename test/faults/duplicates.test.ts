import { label } from '../../functions/kernel/labels';
import { faultSuite, agentHandler, coreTask, deadLetterAccounting, lambdaContext, outcomeOf, sqsRecord, topologyWith } from './support';

/**
 * Duplicates, from both sides of SQS: the queue delivering one message twice (at-least-once delivery), and a
 * sender whose SendMessage took effect but whose answer was lost, so the SDK sent it again — two SQS messages
 * carrying one agent message. Work happens once; a copy is refused REPLAY with its ledger entry (DESIGN §4).
 */
const topology = topologyWith({ visibilityTimeoutSeconds: 10 }, 5);
const UNCLASSIFIED = { level: 'UNCLASSIFIED', compartments: [] };
const suite = faultSuite(topology, { agentOrder: topology.agentNames() });

const sentTo = (queueUrl: string) => (call: { input: Record<string, unknown> }) => call.input.QueueUrl === queueUrl;

it('one SQS message delivered twice at once runs once; the second delivery is retried, never refused', async () => {
  const commandId = await suite.cloud.submit('alice', { text: 'What are the visiting hours?', classification: UNCLASSIFIED });
  await outcomeOf(suite.cloud, new Map([[commandId, 'alice']])); // finished: core ignores the extra result this test causes
  const message = await coreTask(suite.cloud.state, topology, { to: 'edge', commandId, principal: 'alice', label: label('UNCLASSIFIED'), text: 'Please lookup_public_info about parking.' });
  const record = sqsRecord(JSON.stringify(message), { agent: 'edge' });
  const handler = agentHandler(suite.cloud.state, topology, 'edge');
  // A batch whose every record failed rejects (FullBatchFailureError): Lambda retries all of it.
  const both = await Promise.allSettled([handler({ Records: [record] }, lambdaContext('edge')), handler({ Records: [record] }, lambdaContext('edge'))]);
  const retried = both.filter((r) => r.status === 'rejected' || r.value.batchItemFailures.length > 0).length;
  expect(retried).toBeLessThanOrEqual(1);
  if (retried > 0) expect((await handler({ Records: [record] }, lambdaContext('edge'))).batchItemFailures).toEqual([]);
  const entries = (await suite.cloud.ledger()).filter((e) => e.messageId === message.id);
  expect(entries.filter((e) => e.type === 'tool.executed')).toHaveLength(1);
  expect(entries.filter((e) => e.type === 'message.rejected')).toEqual([]);
});

it('a task sent twice by an SDK retry after a lost answer: the copy is refused REPLAY and the email is sent once', async () => {
  suite.faults.add({ name: 'core task sent twice', fault: 'throttle', at: 'after', service: 'sqs', origins: ['core'], operations: ['SendMessage'], when: sentTo(suite.cloud.state.queues.edge), first: 1 });
  const commandId = await suite.cloud.submit('alice', { text: 'Ask edge to send_email to visitors@example.org about the new visiting hours.', classification: UNCLASSIFIED, allow: ['send_email'] });
  const outcome = await outcomeOf(suite.cloud, new Map([[commandId, 'alice']]), 30_000);
  suite.faults.clear();
  expect(suite.faults.injected('core task sent twice')).toBe(1);
  expect(outcome.statuses[commandId]).toBe('completed');
  expect(outcome.effects.filter((e) => e.tool === 'send_email')).toHaveLength(1);
  const rejected = await waitForRejection(commandId, 'edge');
  expect(rejected.reason).toBe('REPLAY');
});

it('a result sent twice by an SDK retry: the copy is refused REPLAY and the command completes once', async () => {
  suite.faults.add({ name: 'edge result sent twice', fault: 'throttle', at: 'after', service: 'sqs', origins: ['edge'], operations: ['SendMessage'], when: sentTo(suite.cloud.state.queues.core), first: 1 });
  const commandId = await suite.cloud.submit('alice', { text: 'Ask edge to lookup_public_info about the cafeteria.', classification: UNCLASSIFIED });
  const outcome = await outcomeOf(suite.cloud, new Map([[commandId, 'alice']]), 30_000);
  suite.faults.clear();
  expect(suite.faults.injected('edge result sent twice')).toBe(1);
  expect(outcome.statuses[commandId]).toBe('completed');
  expect((await waitForRejection(commandId, 'core')).reason).toBe('REPLAY');
  expect((await suite.cloud.ledger()).filter((e) => e.commandId === commandId && e.type === 'command.completed')).toHaveLength(1);
});

it('after the duplicates, every dead letter has its ledger entry and the ledger verifies', async () => {
  const { deadLetters, unledgered, verify } = await deadLetterAccounting(suite.cloud);
  expect(deadLetters.map((d) => d.rejectedFor)).toEqual(['REPLAY', 'REPLAY']);
  expect(unledgered).toEqual([]);
  expect(verify.ok).toBe(true);
});

async function waitForRejection(commandId: string, actor: string) {
  for (let i = 0; i < 50; i++) {
    const found = (await suite.cloud.ledger()).find((e) => e.commandId === commandId && e.type === 'message.rejected' && e.actor === actor);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no rejection by ${actor} for ${commandId}`);
}
