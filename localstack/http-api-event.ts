import { randomUUID } from 'node:crypto';
import type { APIGatewayEventRequestContextV2, APIGatewayProxyEventV2WithRequestContext } from 'aws-lambda';
import { routeKeyOf } from '../functions/api/routes';
import type { RouteMatch } from './route-matcher';

/**
 * The event API Gateway HTTP APIs send a Lambda integration (payload format 2.0) behind a JWT authorizer:
 * lower-case headers with duplicates joined by commas, cookies split out, query parameters decoded and
 * joined by commas, claims as strings, and `scopes` null unless the route requires scopes.
 */

export interface JwtAuthorizerContext {
  jwt: {
    /** Every claim as API Gateway passes it: a string (arrays as `[a b]`). */
    claims: Record<string, string>;
    scopes: string[] | null;
  };
}

export type HttpApiEvent = APIGatewayProxyEventV2WithRequestContext<
  APIGatewayEventRequestContextV2 & { authorizer?: JwtAuthorizerContext }
>;

/** The parts of an HTTP request the event is built from. */
export interface HttpRequestParts {
  readonly method: string;
  /** Path and query exactly as received, e.g. `/v1/commands?x=1`. */
  readonly url: string;
  /** Node's `rawHeaders`: name, value, name, value, ... */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly localPort: number;
}

const TEXT_CONTENT = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)\b|[^;]*\+(json|xml)\b)/i;

export function toHttpApiEvent(
  request: HttpRequestParts,
  match: RouteMatch,
  options: { claims?: Record<string, unknown>; accountId: string; apiId: string },
): HttpApiEvent {
  const queryAt = request.url.indexOf('?');
  const rawPath = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const rawQueryString = queryAt < 0 ? '' : request.url.slice(queryAt + 1);
  const { headers, cookies } = collectHeaders(request);
  const now = new Date();
  const routeKey = routeKeyOf(match.route);
  const domainName = headers.host ?? `localhost:${request.localPort}`;
  const event: HttpApiEvent = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...(rawQueryString.length > 0 && { queryStringParameters: collectQuery(rawQueryString) }),
    requestContext: {
      accountId: options.accountId,
      apiId: options.apiId,
      ...(options.claims && { authorizer: { jwt: { claims: stringifyClaims(options.claims), scopes: null } } }),
      domainName,
      domainPrefix: domainName.split('.')[0].split(':')[0],
      http: {
        method: request.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: formatRequestTime(now),
      timeEpoch: now.getTime(),
    },
    ...(Object.keys(match.pathParameters).length > 0 && { pathParameters: match.pathParameters }),
    isBase64Encoded: false,
  };
  if (request.body.length > 0) {
    const text = TEXT_CONTENT.test(headers['content-type'] ?? 'application/json');
    event.body = request.body.toString(text ? 'utf8' : 'base64');
    event.isBase64Encoded = !text;
  }
  return event;
}

function collectHeaders(request: HttpRequestParts): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i].toLowerCase();
    const value = request.rawHeaders[i + 1];
    if (name === 'cookie') {
      cookies.push(...value.split(';').map((c) => c.trim()).filter(Boolean));
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${request.sourceIp}` : request.sourceIp;
  headers['x-forwarded-port'] = String(request.localPort);
  headers['x-forwarded-proto'] = 'http';
  return { headers, cookies };
}

function collectQuery(rawQueryString: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    params[key] = key in params ? `${params[key]},${value}` : value;
  }
  return params;
}

/** API Gateway hands the authorizer's claims to the function as strings; arrays become `[a b]`. */
function stringifyClaims(claims: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(claims).map(([k, v]) => [k, Array.isArray(v) ? `[${v.join(' ')}]` : typeof v === 'string' ? v : JSON.stringify(v)]),
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, API Gateway's request time format. */
function formatRequestTime(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}
