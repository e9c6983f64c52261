import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CommandStore } from '../../functions/stores/commands';
import { IDLE_TIMEOUT_REASON } from '../../functions/api/commands';
import { ApiFixture, apiFixture, commandBody } from './support';

let f: ApiFixture;
let clock = Date.parse('2030-01-01T00:00:00.000Z');
const minutes = (n: number) => n * 60_000;

beforeAll(async () => {
  f = await apiFixture({ now: () => new Date(clock) });
});

async function submitted(): Promise<string> {
  const res = await f.call({ method: 'POST', path: '/v1/commands', claims: f.user('alice'), body: commandBody('What are the visiting hours?', 'SECRET') });
  expect(res.status).toBe(202);
  return res.body.commandId;
}

const read = (commandId: string) => f.call({ method: 'GET', path: `/v1/commands/${commandId}`, claims: f.user('alice') });

/** Sets the stored status and last-progress time, as core's writes do. */
async function progress(commandId: string, status: string, at: number): Promise<void> {
  await f.doc.send(
    new UpdateCommand({
      TableName: f.tables.commands,
      Key: { commandId },
      UpdateExpression: 'SET #status = :s, #updatedAt = :at',
      ExpressionAttributeNames: { '#status': 'status', '#updatedAt': 'updatedAt' },
      ExpressionAttributeValues: { ':s': status, ':at': new Date(at).toISOString() },
    }),
  );
}

describe('every accepted command ends, also when its messages were refused or lost', () => {
  const timeout = () => 1000 * f.topology.runtime.commandIdleTimeoutSeconds;

  test('a command with no progress for commandIdleTimeoutSeconds is failed when read, and the failure is ledgered', async () => {
    const commandId = await submitted();
    clock += timeout();
    const res = await read(commandId);
    expect(res.body).toMatchObject({ status: 'failed', reason: IDLE_TIMEOUT_REASON });
    expect((await f.commandItem(commandId))!.status).toBe('failed');
    const failed = (await f.ledgerEntries()).filter((e) => e.commandId === commandId && e.type === 'command.failed');
    expect(failed).toEqual([expect.objectContaining({ actor: 'api', detail: expect.objectContaining({ idleTimeout: true, was: 'queued' }) })]);
    // Read again: it stays failed, and is ledgered once.
    expect((await read(commandId)).body.status).toBe('failed');
    expect((await f.ledgerEntries()).filter((e) => e.commandId === commandId && e.type === 'command.failed')).toHaveLength(1);
  });

  test('a running command that made progress within the timeout is left running', async () => {
    const commandId = await submitted();
    clock += timeout();
    await progress(commandId, 'running', clock - minutes(1));
    expect((await read(commandId)).body.status).toBe('running');
  });

  test('a command awaiting a human approval is never idle', async () => {
    const commandId = await submitted();
    await progress(commandId, 'awaiting_approval', clock);
    clock += 10 * timeout();
    expect((await read(commandId)).body.status).toBe('awaiting_approval');
  });

  test('progress recorded after the read saw the command idle wins over the deadline', async () => {
    const commandId = await submitted();
    const seen = String((await f.commandItem(commandId))!.updatedAt);
    clock += timeout();
    await progress(commandId, 'running', clock);
    expect(await new CommandStore(f.doc, f.tables.commands).failIdle(commandId, seen, IDLE_TIMEOUT_REASON, new Date(clock))).toBe(false);
    expect((await f.commandItem(commandId))!.status).toBe('running');
  });

  test('a finished command is never failed by the deadline', async () => {
    const commandId = await submitted();
    await f.completeAsCore(commandId, 'Visiting hours are 9 to 17.', { level: 'SECRET', compartments: [] });
    clock += 10 * timeout();
    expect((await read(commandId)).body.status).toBe('completed');
  });
});
