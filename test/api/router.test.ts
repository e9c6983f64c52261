import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ApiContext, createApiContext } from '../../functions/api/context';
import { UNAVAILABLE_MESSAGE } from '../../functions/api/errors';
import { handleApiRequest } from '../../functions/api/router';
import { InProcessSignerClient } from '../../functions/signer/signer-client';
import { ApiFixture, apiEvent, apiFixture, commandBody } from './support';

let f: ApiFixture;

beforeAll(async () => {
  f = await apiFixture();
});

test('an unexpected internal fault is a 500 with a generic body; the error is logged, never returned', async () => {
  const fault = new Error('DynamoDB exploded: arn:aws:dynamodb:us-east-1:123456789012:table/secret-table');
  const broken: ApiContext = { ...f.ctx, audit: { list: async () => Promise.reject(fault) } as unknown as ApiContext['audit'] };
  const logged: unknown[] = [];
  const res = await handleApiRequest(broken, apiEvent({ method: 'GET', path: '/v1/audit', claims: f.user('alice') }), (_m, err) => logged.push(err));
  expect(res.statusCode).toBe(500);
  expect(res.headers?.['content-type']).toBe('application/json');
  expect(JSON.parse(res.body!)).toEqual({ message: 'internal error' });
  expect(res.body).not.toContain('secret-table');
  expect(logged).toEqual([fault]);
});

describe('AWS services that are gone or unavailable answer 503 with a retry hint, not 500', () => {
  const unavailable = async (env: Record<string, string>, event: Parameters<typeof apiEvent>[0]) => {
    const ctx = createApiContext({ env: { ...f.env, ...env }, topology: f.topology, signer: () => new InProcessSignerClient(f.signer) });
    const logged: unknown[] = [];
    const res = await handleApiRequest(ctx, apiEvent(event), (_m, err) => logged.push(err));
    expect(res.statusCode).toBe(503);
    expect(res.headers?.['retry-after']).toBe('5');
    expect(JSON.parse(res.body!)).toEqual({ message: UNAVAILABLE_MESSAGE });
    expect(logged).toHaveLength(1);
  };

  test('a commands table that no longer exists (an emulator restarted empty)', async () => {
    await unavailable({ AGENTSEC_TABLE_COMMANDS: 'agentsec-gone-commands' }, { method: 'GET', path: `/v1/commands/${randomUUID()}`, claims: f.user('alice') });
  });

  test("core's queue that no longer exists", async () => {
    const gone = f.coreQueueUrl.replace(/[^/]+$/, 'agentsec-gone-core');
    await unavailable({ AGENTSEC_QUEUE_URLS: JSON.stringify({ core: gone }) }, { method: 'POST', path: '/v1/commands', claims: f.user('alice'), body: commandBody('q', 'SECRET') });
  });
});

test('a tampered stored result is never returned: the read fails closed with a generic 500', async () => {
  const { body } = await f.call({ method: 'POST', path: '/v1/commands', claims: f.user('alice'), body: commandBody('q', 'SECRET') });
  await f.completeAsCore(body.commandId, 'the real answer', { level: 'SECRET', compartments: [] });
  const item = (await f.commandItem(body.commandId))!;
  const bytes = Buffer.from(item.resultCiphertext as string, 'base64');
  bytes[bytes.length - 5] ^= 0x01;
  await f.doc.send(
    new UpdateCommand({
      TableName: f.tables.commands,
      Key: { commandId: body.commandId },
      UpdateExpression: 'SET resultCiphertext = :c',
      ExpressionAttributeValues: { ':c': bytes.toString('base64') },
    }),
  );
  const res = await f.call({ method: 'GET', path: `/v1/commands/${body.commandId}`, claims: f.user('alice') }, { expectFault: true });
  expect(res.status).toBe(500);
  expect(res.body).toEqual({ message: 'internal error' });
});

test('a route the API does not serve is a JSON 404', async () => {
  for (const [method, path] of [['GET', '/v1/secrets'], ['DELETE', '/v1/commands'], ['GET', '/v1/approvals/x/y']]) {
    const res = await f.call({ method, path, claims: f.user('alice') });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json');
  }
});

test('a base64-encoded body (as API Gateway passes non-text content types) is read', async () => {
  const event = apiEvent({ method: 'POST', path: '/v1/commands', claims: f.user('bob') });
  event.body = Buffer.from(JSON.stringify(commandBody('encoded', 'UNCLASSIFIED'))).toString('base64');
  event.isBase64Encoded = true;
  const res = await handleApiRequest(f.ctx, event, () => undefined);
  expect(res.statusCode).toBe(202);
});

describe('createApiContext fails at start-up, naming what is missing', () => {
  test('an incomplete environment', () => {
    expect(() => createApiContext({ env: {}, topology: f.topology })).toThrow(/AGENTSEC_KEY_ARNS/);
  });

  test('no queue for core', () => {
    const env = {
      AGENTSEC_KEY_ARNS: JSON.stringify(f.keyArns),
      AGENTSEC_AUTHORITY_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/x',
      AGENTSEC_QUEUE_URLS: JSON.stringify({ analyst: 'http://localhost/q' }),
      ...Object.fromEntries(Object.entries(f.tables).map(([t]) => [`AGENTSEC_TABLE_${t.toUpperCase()}`, t])),
    };
    expect(() => createApiContext({ env, topology: f.topology })).toThrow(/no queue for "core"/);
  });
});
