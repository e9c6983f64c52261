import { FaultCloud, FaultInjector, faultSuite, deadLetterAccounting, ledgerAppend, outboxWrite, outcomeOf, topologyWith } from './support';

/**
 * A function killed in the middle of its work (DESIGN §4, §9): the invocation hangs at a chosen point and is
 * ended by its timeout, its records reappear after the visibility timeout, and the redelivery must finish the
 * work — every accepted command ends, every side effect happens once.
 */
const topology = topologyWith({ visibilityTimeoutSeconds: 10 }, 5);
const UNCLASSIFIED = { level: 'UNCLASSIFIED', compartments: [] };
const CONFIDENTIAL = { level: 'CONFIDENTIAL', compartments: [] };
const suite = faultSuite(topology, { agentOrder: topology.agentNames() });

/** Runs one command with a hang planted for it; returns what became of it. */
async function killedOnce(kill: (commandId: string) => Parameters<FaultInjector['add']>, body: Parameters<FaultCloud['submit']>[1]) {
  const commandId = await suite.cloud.submit('alice', body);
  suite.faults.add(...kill(commandId));
  const outcome = await outcomeOf(suite.cloud, new Map([[commandId, 'alice']]), 60_000);
  const entries = outcome.ledger.filter((e) => e.commandId === commandId);
  return { commandId, outcome, entries, effects: outcome.effects };
}

describe('a handler killed in the middle of its work', () => {
  it.concurrent('an effector killed after its side effect was recorded: the command completes and the email is sent once', async () => {
    const run = await killedOnce(
      (id) => [{ name: 'edge dies after sending', fault: 'hang', service: 'dynamodb', origins: ['edge'], when: ledgerAppend('tool.executed', { commandId: id }), first: 1 }],
      { text: 'Ask edge to send_email to visitors@example.org about the new visiting hours.', classification: UNCLASSIFIED, allow: ['send_email'] },
    );
    expect(suite.faults.injected('edge dies after sending')).toBe(1);
    expect(run.outcome.statuses[run.commandId]).toBe('completed');
    expect(run.effects.filter((e) => e.tool === 'send_email')).toHaveLength(1);
    expect(run.entries.filter((e) => e.type === 'directive.signed')).toHaveLength(1);
  });

  it.concurrent('an effector killed after spending its directive, before its effect was recorded: the appointment is booked once', async () => {
    // The effect gateway's outbox write hangs, so the scheduler's invocation waiting on it is killed at its timeout.
    const run = await killedOnce(
      (id) => [{ name: 'scheduler dies before booking', fault: 'hang', service: 'dynamodb', origins: ['effects'], when: outboxWrite(id), first: 1 }],
      { text: 'Ask the scheduler to schedule_appointment for P-1001 in cardiology.', classification: CONFIDENTIAL, allow: ['schedule_appointment'] },
    );
    expect(suite.faults.injected('scheduler dies before booking')).toBe(1);
    expect(run.outcome.statuses[run.commandId]).toBe('completed');
    expect(run.effects.filter((e) => e.tool === 'schedule_appointment')).toHaveLength(1);
    expect(run.entries.filter((e) => e.type === 'tool.denied')).toEqual([]);
  });

  it.concurrent('the kernel agent killed while composing the answer: the redelivered result composes it', async () => {
    const run = await killedOnce(
      (id) => [{ name: 'core dies composing', fault: 'hang', service: 'dynamodb', origins: ['core'], when: ledgerAppend('command.completed', { commandId: id }), first: 1 }],
      { text: 'Ask the analyst to read_patient_record P-1002 and summarise it.', classification: { level: 'SECRET', compartments: ['MEDICAL'] } },
    );
    expect(suite.faults.injected('core dies composing')).toBe(1);
    expect(run.outcome.statuses[run.commandId]).toBe('completed');
    expect(run.entries.filter((e) => e.type === 'command.completed')).toHaveLength(1);
  });

  it.concurrent('the kernel agent killed between two delegations, and an effector killed too: each subtask runs once', async () => {
    const run = await killedOnce(
      (id) => [
        { name: 'core dies delegating', fault: 'hang', service: 'dynamodb', origins: ['core'], when: ledgerAppend('message.sent', { commandId: id }), first: 1 },
        { name: 'edge dies too', fault: 'hang', service: 'dynamodb', origins: ['edge'], when: ledgerAppend('tool.executed', { commandId: id }), first: 1 },
      ],
      {
        text: 'Ask the scheduler to schedule_appointment for P-1003 in radiology, and ask edge to send_email to visitors@example.org about parking.',
        classification: UNCLASSIFIED,
        allow: ['schedule_appointment', 'send_email'],
      },
    );
    expect(suite.faults.injected('core dies delegating')).toBe(1);
    expect(run.outcome.statuses[run.commandId]).toBe('completed');
    expect(run.effects.map((e) => e.tool).sort()).toEqual(['schedule_appointment', 'send_email']);
  });
});

describe('after the crashes', () => {
  it('every dead letter has its ledger entry, nothing was done twice, and the ledger verifies', async () => {
    const { deadLetters, unledgered, verify } = await deadLetterAccounting(suite.cloud);
    const outbox = await suite.cloud.outbox();
    const perCall = new Map<string, number>();
    for (const e of outbox.filter((o) => o.payload !== null)) perCall.set(`${e.commandId}|${e.tool}`, (perCall.get(`${e.commandId}|${e.tool}`) ?? 0) + 1);
    console.log(`crash suite: ${JSON.stringify(suite.faults.stats.injected)}; dead letters ${deadLetters.length}; invocation failures logged ${suite.cloud.logs.length}`);
    expect(unledgered).toEqual([]);
    expect([...perCall.values()].every((n) => n === 1)).toBe(true);
    expect(verify.ok).toBe(true);
  });
});
