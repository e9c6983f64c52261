import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type { TokenVerifier } from './cognito';
import { fromLambdaResult, gatewayError, HttpResponse, INTERNAL_SERVER_ERROR } from './http-api-response';
import { toHttpApiEvent } from './http-api-event';
import { createLambdaContext, invokeHandler, LambdaHandler, LambdaTimeoutError } from './lambda-runtime';
import { RouteMatcher } from './route-matcher';
import { API_ROUTES, ApiRoute } from '../functions/api/routes';

/**
 * The API function, as API Gateway invokes it. Typed with the installed @types/aws-lambda event so handlers
 * written against it plug in; the values follow AWS ({@link HttpApiEvent}: `scopes` null, no `principalId`),
 * which that version of the types does not allow yet.
 */
export type HttpApiHandler = LambdaHandler<APIGatewayProxyEventV2WithJWTAuthorizer, unknown>;

export interface HttpApiProps {
  readonly handler: HttpApiHandler;
  /** Verifies bearer tokens for `JWT` routes (the Cognito authorizer). */
  readonly verifier: TokenVerifier;
  /** @default API_ROUTES */
  readonly routes?: readonly ApiRoute[];
  /** @default a free port */
  readonly port?: number;
  /** @default 'localhost' */
  readonly host?: string;
  /** @default 'agentsec-api' */
  readonly functionName?: string;
  /** API Gateway's integration timeout; past it the client gets a 503. @default 30 */
  readonly timeoutSeconds?: number;
  /** Largest request body accepted; larger is a 413. @default 1 MiB */
  readonly maxBodyBytes?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '123456789012' */
  readonly accountId?: string;
  /** Where handler failures are logged (never sent to the client). @default console */
  readonly logger?: Pick<Console, 'error'>;
  /**
   * The origins allowed to call the API from a browser, exactly (the CORS configuration's `allowOrigins`, e.g. the
   * operator console's `http://localhost:43211`). With it, the gateway answers preflight requests itself and adds
   * `access-control-allow-origin` to the responses to an allowed origin; another origin gets no CORS header.
   * @default no CORS: a browser on another origin cannot read any answer
   */
  readonly corsOrigins?: readonly string[];
}

export interface HttpApi {
  /** Base URL, e.g. `http://localhost:43210`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export const MAX_BODY_BYTES = 1024 * 1024;

/** The CORS configuration's other fields, as the stack sets them: the routes' methods, the headers the console sends, an hour's cache. */
export const CORS_ALLOW_HEADERS = ['authorization', 'content-type', 'idempotency-key'] as const;
export const CORS_MAX_AGE_SECONDS = 3600;

class BodyTooLargeError extends Error {}

/**
 * API Gateway HTTP API for one machine (DESIGN §9): a node:http server that selects the route, runs the JWT
 * authorizer, and invokes the handler with a payload format 2.0 event. As on AWS, an unknown route (404) or a
 * missing or invalid token (401) never reaches the handler, and a handler failure is a bare 500.
 *
 * @example
 * const api = await startHttpApi({ handler, verifier: await createTokenVerifier(pool) });
 * await fetch(`${api.url}/v1/commands`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body });
 */
export async function startHttpApi(props: HttpApiProps): Promise<HttpApi> {
  const matcher = new RouteMatcher(props.routes ?? API_ROUTES);
  const logger = props.logger ?? console;
  const timeoutMs = (props.timeoutSeconds ?? 30) * 1000;
  const maxBody = props.maxBodyBytes ?? MAX_BODY_BYTES;
  const accountId = props.accountId ?? '123456789012';
  const corsOrigins = props.corsOrigins ? new Set(props.corsOrigins) : undefined;
  const corsMethods = [...new Set([...(props.routes ?? API_ROUTES).map((r) => r.method), 'OPTIONS'])];

  async function respond(req: http.IncomingMessage, port: number): Promise<HttpResponse> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const match = matcher.match(method, url.split('?')[0]);
    if (!match) return gatewayError(404, 'Not Found');
    let claims: Record<string, unknown> | undefined;
    if (match.route.authorization === 'JWT') {
      const token = bearerToken(req.headers.authorization);
      if (!token) return gatewayError(401, 'Unauthorized');
      try {
        claims = await props.verifier.verify(token);
      } catch {
        // DESIGN §10: no valid token, no invocation.
        return gatewayError(401, 'Unauthorized');
      }
    }
    let body: Buffer;
    try {
      body = await readBody(req, maxBody);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return gatewayError(413, 'Request Entity Too Large');
      throw err;
    }
    const event = toHttpApiEvent(
      { method, url, rawHeaders: req.rawHeaders, body, sourceIp: clientIp(req), localPort: port },
      match,
      { claims, accountId, apiId: 'local' },
    );
    const functionName = props.functionName ?? 'agentsec-api';
    const context = createLambdaContext({ functionName, timeoutMs, region: props.region, accountId });
    try {
      const awsTyped = event as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
      return fromLambdaResult(await invokeHandler(props.handler, awsTyped, context, timeoutMs));
    } catch (err) {
      if (err instanceof LambdaTimeoutError) return gatewayError(503, 'Service Unavailable');
      logger.error(`[${functionName} ${event.requestContext.requestId}] handler failed:`, err);
      return INTERNAL_SERVER_ERROR();
    }
  }

  const server = http.createServer((req, res) => {
    const port = (server.address() as AddressInfo).port;
    // With CORS configured, API Gateway answers preflight requests itself, for any path, and never invokes the function.
    if (corsOrigins && req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      const out = preflight(corsOrigins, corsMethods, req.headers.origin);
      res.writeHead(out.statusCode, { ...out.headers, 'content-length': '0', 'apigw-requestid': randomUUID() });
      res.end();
      return;
    }
    respond(req, port)
      .catch((err: unknown) => {
        logger.error('[http-api] request failed:', err);
        return INTERNAL_SERVER_ERROR();
      })
      .then((out) => {
        const tooLarge = out.statusCode === 413;
        res.writeHead(out.statusCode, {
          ...(corsOrigins ? withCors(out.headers, corsOrigins, req.headers.origin) : out.headers),
          'content-length': String(out.body.length),
          'apigw-requestid': randomUUID(),
          ...(tooLarge && { connection: 'close' }),
        });
        res.end(out.body);
        // The rest of an oversized body is not read; closing the connection discards it.
        if (tooLarge) res.once('finish', () => req.destroy());
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(props.port ?? 0, props.host ?? 'localhost', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${props.host ?? 'localhost'}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The gateway's answer to a preflight request: 204, with the CORS headers only when the origin is allowed. */
function preflight(allowed: ReadonlySet<string>, methods: readonly string[], origin: string | undefined): { statusCode: 204; headers: Record<string, string> } {
  if (!origin || !allowed.has(origin)) return { statusCode: 204, headers: {} };
  return {
    statusCode: 204,
    headers: {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': methods.join(','),
      'access-control-allow-headers': CORS_ALLOW_HEADERS.join(','),
      'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
      vary: 'origin',
    },
  };
}

/**
 * A response's headers as the gateway sends them with CORS configured: the integration's own CORS headers dropped
 * (API Gateway ignores them), `access-control-allow-origin` added for an allowed origin only.
 */
function withCors(headers: Record<string, string | string[]>, allowed: ReadonlySet<string>, origin: string | undefined): Record<string, string | string[]> {
  const out = Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('access-control-')));
  if (origin && allowed.has(origin)) {
    out['access-control-allow-origin'] = origin;
    out.vary = out.vary ? `${String(out.vary)}, origin` : 'origin';
  }
  return out;
}

/** The token of an `Authorization` header, with or without the `Bearer` scheme (as API Gateway accepts it). */
function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(?:Bearer\s+)?([A-Za-z0-9_\-.=]+)$/i.exec(header.trim());
  return m?.[1];
}

function clientIp(req: http.IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return Promise.reject(new BodyTooLargeError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.pause();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
