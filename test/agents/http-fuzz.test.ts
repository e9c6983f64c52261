import fc from 'fast-check';
import { createSign, generateKeyPairSync } from 'node:crypto';
import { login } from '../../localstack/cognito';
import { TestCloud } from './support';

/** Fuzzes the running HTTP API (local cloud: authorizer, router, kernel) with and without valid tokens. */
let cloud: TestCloud;
let token: string;
beforeAll(async () => {
  cloud = await TestCloud.start();
  const alice = cloud.state.users.find((u) => u.username === 'alice')!;
  token = (await login({ endpoint: cloud.state.endpoint, userPoolClientId: cloud.state.userPoolClientId, username: 'alice', password: alice.password })).token;
});
afterAll(() => cloud?.stop());

async function call(method: string, path: string, body: string | undefined, auth: string | undefined): Promise<number> {
  const res = await fetch(`${cloud.state.apiUrl}${path}`, {
    method,
    headers: { ...(auth !== undefined ? { authorization: auth } : {}), 'content-type': 'application/json' },
    body: method === 'GET' ? undefined : body,
  });
  await res.arrayBuffer();
  return res.status;
}

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const claimsOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;

const paths = fc.oneof(
  fc.constantFrom('/v1/commands', '/v1/approvals', '/v1/audit', '/v1/audit/verify', '/v1/commands/x', '/v1/approvals/00000000-0000-4000-8000-000000000000'),
  fc.constantFrom('/v1/audit?since=-1', '/v1/audit?limit=100000', '/v1/audit?since=abc', '/v1/commands/%00', '/v2/commands', '/'),
  fc.webPath().map((p) => `/v1${p}`),
);
const bodies = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.record({ text: fc.string(), classification: fc.jsonValue(), allow: fc.jsonValue(), declassifyTo: fc.jsonValue() }).map((v) => JSON.stringify(v)),
  fc.record({ decision: fc.constantFrom('approve', 'reject', 'maybe', ''), reason: fc.string() }).map((v) => JSON.stringify(v)),
);

describe('HTTP API fuzzing', () => {
  it('with a valid token, no input ever yields a 5xx, and malformed commands are never accepted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), paths, bodies, async (method, path, body) => {
        const status = await call(method, path, body, `Bearer ${token}`);
        expect(status).toBeLessThan(500);
        if (method === 'POST' && path === '/v1/commands') {
          let valid = false;
          try {
            const parsed = JSON.parse(body) as { text?: unknown; classification?: { level?: unknown } };
            valid = typeof parsed.text === 'string' && parsed.text.trim().length > 0 && typeof parsed.classification?.level === 'string';
          } catch {
            valid = false;
          }
          if (!valid) expect(status).not.toBe(202);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('without a valid token every route is 401 or 404, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST'), paths, bodies, fc.option(fc.string({ maxLength: 60 }), { nil: undefined }), async (method, path, body, auth) => {
        const status = await call(method, path, body, auth === undefined ? undefined : `Bearer ${auth}`);
        expect([401, 404]).toContain(status);
      }),
      { numRuns: 100 },
    );
  });

  describe('forged tokens are 401', () => {
    const forged: Record<string, () => string> = {
      'alg none': () => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...claimsOf(token), 'custom:clearance': 'TOP_SECRET' })}.`,
      'signed with another key': () => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
        const unsigned = `${b64url(header)}.${b64url(claimsOf(token))}`;
        return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(privateKey).toString('base64url')}`;
      },
      'claims edited': () => {
        const [h, , s] = token.split('.');
        return `${h}.${b64url({ ...claimsOf(token), 'cognito:username': 'carol' })}.${s}`;
      },
      expired: () => {
        const [h, , s] = token.split('.');
        return `${h}.${b64url({ ...claimsOf(token), exp: 1_000_000_000 })}.${s}`;
      },
    };
    it.each(Object.keys(forged))('%s', async (kind) => {
      expect(await call('GET', '/v1/audit/verify', undefined, `Bearer ${forged[kind]()}`)).toBe(401);
      expect(await call('POST', '/v1/commands', JSON.stringify({ text: 'x', classification: { level: 'UNCLASSIFIED', compartments: [] } }), `Bearer ${forged[kind]()}`)).toBe(401);
    });
  });
});
