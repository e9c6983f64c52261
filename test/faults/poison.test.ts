import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { FaultCloud, ModelOutage, deadLetterAccounting, outcomeOf, topologyWith } from './support';

/**
 * Poison messages: a message whose processing fails on every delivery (here: the model endpoint it needs is
 * down for it, or never answers so every invocation is killed at its timeout) and messages that are not
 * messages at all. Each ends in a dead-letter queue with its ledger entry, never in a retry loop, and the
 * command it served still ends (DESIGN §4).
 */
const topology = topologyWith({ visibilityTimeoutSeconds: 3 });
const UNCLASSIFIED = { level: 'UNCLASSIFIED', compartments: [] };
let onprem: ModelOutage;
let external: ModelOutage;
let cloud: FaultCloud;

beforeAll(async () => {
  onprem = await ModelOutage.start((body) => body.includes('POISON-CORE'));
  external = await ModelOutage.start((body) => body.includes('POISON-EDGE'), (body) => body.includes('STUCK-EDGE'));
  cloud = await FaultCloud.start({ topology, modelUrls: { onprem: onprem.url, external: external.url } });
  onprem.target = external.target = cloud.state.modelUrl;
});
afterAll(async () => {
  await cloud?.stop();
  await onprem?.stop();
  await external?.stop();
});

const maxReceiveCount = topology.runtime.maxReceiveCount;

describe('poison messages', () => {
  it.concurrent('a subtask that fails on every delivery is ledgered once its deliveries are exhausted, and its command still completes', async () => {
    const alice = await cloud.as('alice');
    const { commandId } = await alice.submit({ text: 'Ask edge to lookup_public_info about POISON-EDGE parking.', classification: UNCLASSIFIED });
    const outcome = await outcomeOf(cloud, new Map([[commandId, 'alice']]), 40_000);
    expect(outcome.statuses[commandId]).toBe('completed');
    expect((await alice.command(commandId)).result).toContain('edge: failed');
    const last = outcome.ledger.find((e) => e.commandId === commandId && e.type === 'message.rejected');
    expect(last).toMatchObject({ actor: 'edge', detail: { deadLettered: true, deliveries: maxReceiveCount } });
    // The ledger entry counts the deliveries; the model server only shows the fault was hit (a delivery slowed past its
    // timeout before it asked the model is killed all the same).
    expect(external.failed).toBeGreaterThanOrEqual(1);
  });

  it.concurrent('a subtask whose every delivery is killed at its timeout still gets its ledger entry from the failed queue, and its command completes', async () => {
    const alice = await cloud.as('alice');
    const { commandId } = await alice.submit({ text: 'Ask edge to lookup_public_info about STUCK-EDGE parking.', classification: UNCLASSIFIED });
    const outcome = await outcomeOf(cloud, new Map([[commandId, 'alice']]), 40_000);
    expect(outcome.statuses[commandId]).toBe('completed');
    expect((await alice.command(commandId)).result).toContain('edge: failed');
    const last = outcome.ledger.find((e) => e.commandId === commandId && e.type === 'message.rejected');
    expect(last).toMatchObject({ actor: 'edge', detail: { deadLettered: true, deliveries: maxReceiveCount } });
    expect(external.hung).toBeGreaterThanOrEqual(1);
  });

  it.concurrent('a command the kernel agent cannot plan fails after the last delivery, with a command.failed entry', async () => {
    const { commandId } = await (await cloud.as('alice')).submit({ text: 'POISON-CORE What are the visiting hours?', classification: UNCLASSIFIED });
    const outcome = await outcomeOf(cloud, new Map([[commandId, 'alice']]), 40_000);
    expect(outcome.statuses[commandId]).toBe('failed');
    const entries = outcome.ledger.filter((e) => e.commandId === commandId).map((e) => `${e.type} ${e.actor}`);
    expect(entries).toEqual(['command.accepted api', 'message.rejected core', 'command.failed core']);
  });

  it.concurrent('bodies that are not messages go to the dead-letter queue at once, each with its ledger entry', async () => {
    for (const body of ['{"v":1,"garbage":true}', 'not json at all']) {
      await cloud.sqs.send(new SendMessageCommand({ QueueUrl: cloud.state.queues.edge, MessageBody: body }));
    }
    for (let i = 0; i < 50; i++) {
      const schema = (await cloud.ledger()).filter((e) => e.type === 'message.rejected' && e.reason === 'SCHEMA' && e.actor === 'edge');
      if (schema.length === 2) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the malformed bodies were not ledgered');
  });
});

describe('after the poison', () => {
  it('every dead letter has its ledger entry and the ledger verifies', async () => {
    // SQS moves a message that failed its last delivery at the next receive, one visibility timeout later.
    await new Promise((r) => setTimeout(r, (topology.runtime.visibilityTimeoutSeconds + 2) * 1000));
    const { deadLetters, unledgered, verify } = await deadLetterAccounting(cloud);
    console.log(`poison: dead letters ${deadLetters.map((d) => `${d.agent}:${d.rejectedFor ?? 'retries exhausted'}`).join(', ')}`);
    expect(deadLetters.map((d) => d.agent).sort()).toEqual(['core', 'edge', 'edge', 'edge', 'edge']);
    expect(unledgered).toEqual([]);
    expect(verify.ok).toBe(true);
  });
});
