/**
 * The routes of the AgentSec HTTP API (DESIGN §10), listed once: the CDK stack creates its HTTP API routes
 * from this list and the local cloud serves exactly these. Every route sits behind the Cognito JWT
 * authorizer, so no request reaches the API function without a verified identity token.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiRoute {
  readonly method: HttpMethod;
  /** API Gateway path template: literal segments, `{name}` for one segment, `{name+}` for the rest. */
  readonly path: string;
  /** `JWT`: the Cognito authorizer must accept the bearer token before the function is invoked. */
  readonly authorization: 'JWT' | 'NONE';
}

export const API_ROUTES = [
  { method: 'POST', path: '/v1/commands', authorization: 'JWT' },
  { method: 'GET', path: '/v1/commands/{id}', authorization: 'JWT' },
  { method: 'GET', path: '/v1/me', authorization: 'JWT' },
  { method: 'POST', path: '/v1/passkeys/options', authorization: 'JWT' },
  { method: 'POST', path: '/v1/passkeys', authorization: 'JWT' },
  { method: 'GET', path: '/v1/approvals', authorization: 'JWT' },
  { method: 'POST', path: '/v1/approvals/{id}', authorization: 'JWT' },
  { method: 'GET', path: '/v1/audit', authorization: 'JWT' },
  { method: 'GET', path: '/v1/audit/verify', authorization: 'JWT' },
  { method: 'GET', path: '/v1/audit/proofs/{id}', authorization: 'JWT' },
  { method: 'GET', path: '/v1/audit/consistency', authorization: 'JWT' },
  { method: 'POST', path: '/v1/audit/checkpoints', authorization: 'JWT' },
] as const satisfies readonly ApiRoute[];

/** `POST /v1/commands`, `GET /v1/commands/{id}`, ...: the `routeKey` an API function dispatches on. */
export type RouteKey = `${(typeof API_ROUTES)[number]['method']} ${(typeof API_ROUTES)[number]['path']}`;

export function routeKeyOf(route: Pick<ApiRoute, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}
