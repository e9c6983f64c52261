import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { label } from '../../functions/kernel/labels';
import { Caller } from '../../functions/api/caller';
import { CommandStore } from '../../functions/stores/commands';
import { CommandService, RESUME_AFTER_MS } from '../../functions/api/commands';
import { ApiError } from '../../functions/api/errors';
import { IdempotencyKeys } from '../../functions/stores/idempotency-keys';
import { ApiFixture, apiFixture, commandBody } from './support';

/**
 * A request that dies midway (here: the queue refuses the send) and its retry with the same idempotency-key.
 * The emulator cannot crash a request, so the fault is injected at the send; everything else is real.
 */

let f: ApiFixture;
let clock: number;
let sendFails: boolean;
let service: CommandService;
let keys: IdempotencyKeys;

const alice: Caller = { username: 'alice', clearance: label('TOP_SECRET', ['FINANCE', 'MEDICAL']), isApprover: false };

beforeAll(async () => {
  f = await apiFixture();
  const now = () => new Date(clock);
  keys = new IdempotencyKeys(f.doc, f.tables.idempotency, now);
  service = new CommandService({
    topology: f.topology,
    cipher: f.cipher,
    commands: new CommandStore(f.doc, f.tables.commands),
    idempotencyKeys: keys,
    ledger: f.ledger,
    sendToCore: async (message) => {
      if (sendFails) throw new Error('queue unavailable');
      await f.sqs.send(new SendMessageCommand({ QueueUrl: f.coreQueueUrl, MessageBody: JSON.stringify(message) }));
    },
    now,
  });
});

beforeEach(async () => {
  clock = Date.now();
  sendFails = false;
  await f.drainCoreQueue();
});

test('a retry finishes a submission whose request died after writing the command, sending the very same task once', async () => {
  const key = randomUUID();
  const body = commandBody('restock the pharmacy', 'SECRET', ['MEDICAL']);
  sendFails = true;
  await expect(service.submit(alice, body, key)).rejects.toThrow('queue unavailable');
  const [entry] = (await f.ledgerEntries()).filter((e) => e.type === 'command.accepted' && e.detail?.principal === 'alice').slice(-1);
  const commandId = entry.commandId!;
  expect((await f.commandItem(commandId))?.dispatchedAt).toBeUndefined();
  expect(await f.drainCoreQueue()).toHaveLength(0);

  // While the first request could still be running, a retry does not race it.
  sendFails = false;
  await expect(service.submit(alice, body, key)).rejects.toMatchObject({ statusCode: 409 } satisfies Partial<ApiError>);
  expect(await f.drainCoreQueue()).toHaveLength(0);

  clock += RESUME_AFTER_MS + 1000;
  await expect(service.submit(alice, body, key)).resolves.toEqual({ commandId });
  const item = (await f.commandItem(commandId))!;
  expect(item.dispatchedAt).toEqual(expect.any(String));
  const bodies = await f.drainCoreQueue();
  expect(bodies).toHaveLength(1);
  const received = await f.receiveAsCore(bodies[0]);
  expect(received.message.id).toBe(item.textMessageId);
  expect(received.plaintext.toString('utf8')).toBe('restock the pharmacy');

  // Finished: a further retry answers the same command and sends nothing.
  await expect(service.submit(alice, body, key)).resolves.toEqual({ commandId });
  expect(await f.drainCoreQueue()).toHaveLength(0);
});

test('a retry starts the command under the claimed id when the first request died before writing it', async () => {
  const key = randomUUID();
  const body = commandBody('call the lab', 'CONFIDENTIAL');
  // The first request claimed the key and died: the mapping exists, the command does not.
  const parsed = { text: 'call the lab', classification: label('CONFIDENTIAL'), allow: [] };
  const claimed = await keys.claim('alice', key, parsed);
  expect(claimed.fresh).toBe(true);
  await expect(service.submit(alice, body, key)).resolves.toEqual({ commandId: claimed.commandId });
  expect(await f.drainCoreQueue()).toHaveLength(1);
});
