import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { CORS_ALLOW_HEADERS, HttpApi, startHttpApi } from '../../localstack/http-api';
import type { TokenVerifier } from '../../localstack/cognito';

/**
 * CORS as API Gateway HTTP APIs do it with a `corsConfiguration` (developer guide, "Configure CORS for HTTP APIs"):
 * the gateway answers preflight requests itself, adds the allowed origin to responses, and ignores CORS headers the
 * integration returns. Only the console's origin may read the API's answers from a browser.
 */

const CONSOLE = 'http://localhost:5999';
const ELSEWHERE = 'http://localhost:6666';

/** Accepts one token, as the Cognito authorizer would accept a valid one. */
const verifier: TokenVerifier = {
  verify: async (token) => {
    if (token !== 'valid') throw new Error('invalid token');
    return { 'cognito:username': 'alice', token_use: 'id' };
  },
};

describe('the local HTTP API with CORS for the console', () => {
  let api: HttpApi;
  let plain: HttpApi;
  const calls: APIGatewayProxyEventV2WithJWTAuthorizer[] = [];
  const handler = async (event: APIGatewayProxyEventV2WithJWTAuthorizer) => {
    calls.push(event);
    // An integration that tries to open itself to every origin: the gateway must not let it.
    return { statusCode: 200, headers: { 'access-control-allow-origin': '*', 'x-answer': 'yes' }, body: '{"ok":true}' };
  };

  beforeAll(async () => {
    api = await startHttpApi({ handler, verifier, corsOrigins: [CONSOLE] });
    plain = await startHttpApi({ handler, verifier });
  });
  afterAll(async () => {
    await api.close();
    await plain.close();
  });
  beforeEach(() => {
    calls.length = 0;
  });

  const preflight = (base: HttpApi, origin: string, path = '/v1/commands') =>
    fetch(`${base.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
  const corsHeaders = (res: Response) => [...res.headers.keys()].filter((h) => h.startsWith('access-control-'));

  it("answers a preflight from the console's origin with 204 and the allowed methods and headers, without invoking the function", async () => {
    const res = await preflight(api, CONSOLE);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(res.headers.get('access-control-allow-methods')!.split(',').sort()).toEqual(['GET', 'OPTIONS', 'POST']);
    expect(res.headers.get('access-control-allow-headers')!.split(',')).toEqual(expect.arrayContaining([...CORS_ALLOW_HEADERS]));
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(calls).toHaveLength(0);
  });

  it('answers a preflight from another origin with no CORS header, so the browser sends nothing', async () => {
    for (const origin of [ELSEWHERE, 'http://localhost', `${CONSOLE}/`, 'http://127.0.0.1:5999']) {
      const res = await preflight(api, origin);
      expect([origin, res.status, corsHeaders(res)]).toEqual([origin, 204, []]);
    }
    expect(calls).toHaveLength(0);
  });

  it("names the console's origin on its responses and drops the integration's own CORS headers", async () => {
    const res = await fetch(`${api.url}/v1/audit`, { headers: { origin: CONSOLE, authorization: 'Bearer valid' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(res.headers.get('vary')).toMatch(/origin/i);
    expect(res.headers.get('x-answer')).toBe('yes');
    expect(calls).toHaveLength(1);
  });

  it('gives another origin, or a request without one, no CORS header at all', async () => {
    for (const headers of [{ origin: ELSEWHERE }, {}] as Array<Record<string, string>>) {
      const res = await fetch(`${api.url}/v1/audit`, { headers: { ...headers, authorization: 'Bearer valid' } });
      expect(res.status).toBe(200);
      expect(corsHeaders(res)).toEqual([]);
    }
  });

  it("lets the console read the gateway's own refusals (401), so it can tell a session has ended", async () => {
    const res = await fetch(`${api.url}/v1/audit`, { headers: { origin: CONSOLE, authorization: 'Bearer expired' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(calls).toHaveLength(0);
  });

  it('without a CORS configuration, a preflight is an unknown route (404) and responses pass through unchanged', async () => {
    const pre = await preflight(plain, CONSOLE);
    expect(pre.status).toBe(404);
    expect(corsHeaders(pre)).toEqual([]);
    const res = await fetch(`${plain.url}/v1/audit`, { headers: { origin: CONSOLE, authorization: 'Bearer valid' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });
});
