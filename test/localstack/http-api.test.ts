import { generateKeyPairSync } from 'node:crypto';
import * as http from 'node:http';
import { InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { createTokenVerifier, login } from '../../localstack/cognito';
import { HttpApi, MAX_BODY_BYTES, startHttpApi } from '../../localstack/http-api';
import { ensureUserPool, ensureUsers, SeededUser, UserPool } from '../../localstack/provision-users';
import { API_ROUTES } from '../../functions/api/routes';
import { emulatorEndpoint } from '../support/aws';
import { cognito, decodeJwt, motoSigningKey, signJwt, sleep, topologyWith, uniquePrefix } from './support';

/**
 * The payload format 2.0 example of the API Gateway developer guide ("Create AWS Lambda proxy integrations for
 * HTTP APIs"), minus `authentication` (mutual TLS only) and `stageVariables` (absent when a stage has none).
 */
const DOCUMENTED_EVENT = {
  version: '2.0',
  routeKey: '$default',
  rawPath: '/my/path',
  rawQueryString: 'parameter1=value1&parameter1=value2&parameter2=value',
  cookies: ['cookie1', 'cookie2'],
  headers: { header1: 'value1', header2: 'value1,value2' },
  queryStringParameters: { parameter1: 'value1,value2', parameter2: 'value' },
  requestContext: {
    accountId: '123456789012',
    apiId: 'api-id',
    authorizer: { jwt: { claims: { claim1: 'value1', claim2: 'value2' }, scopes: ['scope1', 'scope2'] } },
    domainName: 'id.execute-api.us-east-1.amazonaws.com',
    domainPrefix: 'id',
    http: { method: 'POST', path: '/my/path', protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'agent' },
    requestId: 'id',
    routeKey: '$default',
    stage: '$default',
    time: '12/Mar/2020:19:03:58 +0000',
    timeEpoch: 1583348638390,
  },
  body: 'Hello from Lambda',
  pathParameters: { parameter1: 'value1' },
  isBase64Encoded: false,
};

/** Every field of `sample` is present in `actual` with the same JSON type (recursively); returns the mismatches. */
function shapeMismatches(sample: unknown, actual: unknown, at = '$'): string[] {
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(sample) !== kind(actual)) return [`${at}: ${kind(actual)} instead of ${kind(sample)}`];
  if (kind(sample) !== 'object') return [];
  const s = sample as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  // Maps whose keys are data (headers, parameters, claims): only their values' type is fixed.
  if (/\.(headers|queryStringParameters|pathParameters|claims)$/.test(at)) {
    return Object.values(a).every((v) => typeof v === 'string') ? [] : [`${at}: a value is not a string`];
  }
  return Object.keys(s).flatMap((k) => (k in a ? shapeMismatches(s[k], a[k], `${at}.${k}`) : [`${at}.${k}: missing`]));
}

type Behaviour = (event: APIGatewayProxyEventV2WithJWTAuthorizer) => unknown;

describe('the local HTTP API', () => {
  const topology = topologyWith();
  let pool: UserPool;
  let users: Record<string, SeededUser>;
  let api: HttpApi;
  let aliceToken: string;
  let behaviour: Behaviour;
  const calls: APIGatewayProxyEventV2WithJWTAuthorizer[] = [];
  const logged: unknown[][] = [];

  const request = (path: string, init: RequestInit & { token?: string } = {}) =>
    fetch(`${api.url}${path}`, {
      ...init,
      headers: { ...(init.token && { authorization: `Bearer ${init.token}` }), ...(init.headers as Record<string, string>) },
    });

  beforeAll(async () => {
    pool = await ensureUserPool(cognito(), uniquePrefix('api'));
    users = Object.fromEntries((await ensureUsers(cognito(), pool.userPoolId, topology.users)).map((u) => [u.username, u]));
    aliceToken = (await login({ endpoint: emulatorEndpoint(), userPoolClientId: pool.userPoolClientId, ...users.alice })).token;
    api = await startHttpApi({
      handler: async (event) => {
        calls.push(event);
        return behaviour(event);
      },
      verifier: createTokenVerifier({ endpoint: emulatorEndpoint(), ...pool }),
      timeoutSeconds: 1,
      logger: { error: (...args: unknown[]) => logged.push(args) },
    });
  });
  afterAll(() => api?.close());
  beforeEach(() => {
    calls.length = 0;
    logged.length = 0;
    behaviour = () => ({ statusCode: 202, body: JSON.stringify({ commandId: 'c-1' }) });
  });

  it('turns a request into a payload format 2.0 event with the JWT authorizer claims', async () => {
    behaviour = () => ({ statusCode: 202, body: JSON.stringify({ commandId: 'c-1' }) });
    const res = await request('/v1/approvals/ap-1?x=1&x=2&y=%C3%A9', {
      method: 'POST',
      token: aliceToken,
      headers: { 'Content-Type': 'application/json', 'X-Trace': 'abc', cookie: 'a=1; b=2', 'user-agent': 'agentsec-test' },
      body: '{"text":"hello"}',
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ commandId: 'c-1' });
    expect(calls).toHaveLength(1);
    const event = calls[0];
    // `scopes` is null unless the route requires scopes (none does), as API Gateway sends it.
    expect(shapeMismatches(DOCUMENTED_EVENT, event)).toEqual(['$.requestContext.authorizer.jwt.scopes: null instead of array']);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /v1/approvals/{id}',
      rawPath: '/v1/approvals/ap-1',
      pathParameters: { id: 'ap-1' },
      rawQueryString: 'x=1&x=2&y=%C3%A9',
      queryStringParameters: { x: '1,2', y: 'é' },
      cookies: ['a=1', 'b=2'],
      body: '{"text":"hello"}',
      isBase64Encoded: false,
      requestContext: {
        routeKey: 'POST /v1/approvals/{id}',
        stage: '$default',
        http: { method: 'POST', path: '/v1/approvals/ap-1', protocol: 'HTTP/1.1', userAgent: 'agentsec-test' },
      },
    });
    expect(event.headers).toMatchObject({ 'content-type': 'application/json', 'x-trace': 'abc', authorization: `Bearer ${aliceToken}` });
    expect(Object.keys(event.headers).every((h) => h === h.toLowerCase())).toBe(true);
    expect(event.headers.cookie).toBeUndefined();
    expect(event.requestContext.http.sourceIp).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(10_000);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    const { jwt } = event.requestContext.authorizer;
    expect(jwt.scopes).toBeNull();
    expect(Object.values(jwt.claims).every((v) => typeof v === 'string')).toBe(true);
    expect(jwt.claims).toMatchObject({ 'cognito:username': 'alice', 'custom:clearance': 'TOP_SECRET', token_use: 'id' });
    expect(jwt.claims.exp).toMatch(/^\d+$/);
  });

  it('passes path parameters and maps a plain object result to a 200 JSON response', async () => {
    behaviour = (event) => ({ commandId: event.pathParameters?.id, status: 'queued' });
    const res = await request('/v1/commands/cmd%2042', { token: aliceToken });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ commandId: 'cmd 42', status: 'queued' });
    expect(calls[0]).toMatchObject({ routeKey: 'GET /v1/commands/{id}', pathParameters: { id: 'cmd 42' } });
    expect(calls[0].body).toBeUndefined();
    expect(calls[0].queryStringParameters).toBeUndefined();
  });

  it("maps structured results like API Gateway: status, headers, cookies; an unreadable one is a 500", async () => {
    behaviour = () => ({ statusCode: 403, headers: { 'X-Reason': 'READ_UP', 'x-n': 3 }, cookies: ['s=1'], body: '{"error":"denied"}' });
    let res = await request('/v1/audit', { token: aliceToken });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-reason')).toBe('READ_UP');
    expect(res.headers.get('x-n')).toBe('3');
    expect(res.headers.get('set-cookie')).toBe('s=1');
    expect(await res.text()).toBe('{"error":"denied"}');
    behaviour = () => 'just text';
    res = await request('/v1/audit', { token: aliceToken });
    expect([res.status, await res.text()]).toEqual([200, 'just text']);
    behaviour = () => ({ statusCode: 'teapot', body: 'x' });
    res = await request('/v1/audit', { token: aliceToken });
    expect([res.status, await res.json()]).toEqual([500, { message: 'Internal Server Error' }]);
  });

  describe('refuses with 401, without invoking the handler', () => {
    const expectUnauthorized = async (headers: Record<string, string>) => {
      const res = await request('/v1/commands', { method: 'POST', headers, body: '{}' });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ message: 'Unauthorized' });
      expect(calls).toHaveLength(0);
    };
    const aliceClaims = () => decodeJwt(aliceToken).payload;

    it('a request without a token', () => expectUnauthorized({}));

    it('a token that is not a JWT, or another authorization scheme', async () => {
      await expectUnauthorized({ authorization: 'Bearer not-a-jwt' });
      await expectUnauthorized({ authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` });
    });

    it('an unsigned token (alg none)', () =>
      expectUnauthorized({ authorization: `Bearer ${signJwt({ alg: 'none', kid: 'dummy', typ: 'JWT' }, aliceClaims())}` }));

    it('a token signed with another RSA key under the pool key id', () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const forged = signJwt({ alg: 'RS256', kid: 'dummy', typ: 'JWT' }, { ...aliceClaims(), 'custom:clearance': 'TOP_SECRET' }, privateKey);
      return expectUnauthorized({ authorization: `Bearer ${forged}` });
    });

    it('an expired token (signed with the pool key itself)', async () => {
      const key = motoSigningKey();
      if (!key) return; // an external emulator: its signing key is not at hand
      const now = Math.floor(Date.now() / 1000);
      const fresh = signJwt({ alg: 'RS256', kid: 'dummy', typ: 'JWT' }, { ...aliceClaims(), iat: now, exp: now + 600 }, key);
      expect((await request('/v1/audit', { token: fresh })).status).toBe(202); // the key is the pool's: only expiry differs
      calls.length = 0;
      const expired = signJwt({ alg: 'RS256', kid: 'dummy', typ: 'JWT' }, { ...aliceClaims(), iat: now - 7200, exp: now - 3600 }, key);
      await expectUnauthorized({ authorization: `Bearer ${expired}` });
    });

    it("a token of another user pool", async () => {
      const other = await ensureUserPool(cognito(), uniquePrefix('other'));
      const [alice] = await ensureUsers(cognito(), other.userPoolId, topology.users.filter((u) => u.username === 'alice'));
      const { token } = await login({ endpoint: emulatorEndpoint(), userPoolClientId: other.userPoolClientId, ...alice });
      await expectUnauthorized({ authorization: `Bearer ${token}` });
    });

    it('an access token instead of an ID token', async () => {
      const auth = await cognito().send(
        new InitiateAuthCommand({
          ClientId: pool.userPoolClientId,
          AuthFlow: 'USER_PASSWORD_AUTH',
          AuthParameters: { USERNAME: 'alice', PASSWORD: users.alice.password },
        }),
      );
      await expectUnauthorized({ authorization: `Bearer ${auth.AuthenticationResult!.AccessToken}` });
    });
  });

  it('an unknown route is 404 Not Found, before authorization and without invoking the handler', async () => {
    for (const [method, path, token] of [
      ['GET', '/v1/nothing', aliceToken],
      ['DELETE', '/v1/commands', aliceToken],
      ['GET', '/v1/commands/', aliceToken],
      ['GET', '/v1/commands/a/b', aliceToken],
      ['GET', '/v1/nothing', undefined],
    ] as const) {
      const res = await request(path, { method, token });
      expect([method, path, res.status, await res.json()]).toEqual([method, path, 404, { message: 'Not Found' }]);
    }
    expect(calls).toHaveLength(0);
  });

  it('serves exactly the routes of DESIGN §10', async () => {
    expect(API_ROUTES.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/commands',
      'GET /v1/commands/{id}',
      'GET /v1/me',
      'POST /v1/passkeys/options',
      'POST /v1/passkeys',
      'GET /v1/approvals',
      'POST /v1/approvals/{id}',
      'GET /v1/audit',
      'GET /v1/audit/verify',
      'GET /v1/audit/proofs/{id}',
      'GET /v1/audit/consistency',
      'POST /v1/audit/checkpoints',
    ]);
    behaviour = (event) => ({ routeKey: event.routeKey });
    for (const r of API_ROUTES) {
      const res = await request(r.path.replace('{id}', 'x1'), { method: r.method, token: aliceToken, body: r.method === 'POST' ? '{}' : undefined });
      expect(await res.json()).toEqual({ routeKey: `${r.method} ${r.path}` });
    }
  });

  it('a body larger than 1 MiB is 413 without invoking the handler; 1 MiB is accepted', async () => {
    const status = (bytes: number) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(`${api.url}/v1/commands`, {
          method: 'POST',
          headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json', 'content-length': bytes },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end(Buffer.alloc(bytes, 0x61));
      });
    expect(await status(MAX_BODY_BYTES + 1)).toBe(413);
    expect(calls).toHaveLength(0);
    expect(await status(MAX_BODY_BYTES)).toBe(202);
    expect(calls[0].body).toHaveLength(MAX_BODY_BYTES);
  });

  it('a handler exception is a bare 500 that never leaks the error or its stack, and is logged', async () => {
    behaviour = () => {
      throw new Error('patient Jane Doe record at /secret/path');
    };
    const res = await request('/v1/approvals', { token: aliceToken });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ message: 'Internal Server Error' });
    expect(text).not.toMatch(/Jane|secret|at /);
    expect(logged).toHaveLength(1);
    expect(String(logged[0][1])).toContain('patient Jane Doe');
  });

  it('a handler slower than the integration timeout is 503', async () => {
    behaviour = async () => {
      await sleep(1300);
      return { ok: true };
    };
    const res = await request('/v1/audit/verify', { token: aliceToken });
    expect([res.status, await res.json()]).toEqual([503, { message: 'Service Unavailable' }]);
  });
});
