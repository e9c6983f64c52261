import type { API_ROUTES } from './routes';
import { Caller, CallerRefused, callerOf } from './caller';
import { API_PRINCIPAL } from './commands';
import type { ApiContext } from './context';
import { ApiError, errorResponse } from './errors';
import { ApiEvent, ApiResponse, jsonResponse } from './http';
import { headerOf, readJsonBody } from './request';

/**
 * The routes of the HTTP API (DESIGN §10), dispatched on the `routeKey` API Gateway (and the local cloud)
 * matched. The route list itself is `API_ROUTES`; keying this table by its route keys makes a route
 * without a handler, or a handler without a route, a compile error. Each service parses its own input; the
 * router only authenticates and turns results and refusals into responses.
 */

/** `POST /v1/commands`, ...: one key per declared route (method and path of the same entry). */
type RouteKey = (typeof API_ROUTES)[number] extends infer R
  ? R extends { readonly method: infer M extends string; readonly path: infer P extends string }
    ? `${M} ${P}`
    : never
  : never;

interface Route {
  readonly status: number;
  /** `id` is the `{id}` path parameter, already URL-decoded by the gateway; '' on routes without one. */
  readonly run: (ctx: ApiContext, caller: Caller, event: ApiEvent, id: string) => Promise<unknown>;
}

export const ROUTES: Readonly<Record<RouteKey, Route>> = {
  'POST /v1/commands': {
    status: 202,
    run: (ctx, caller, event) => ctx.commands.submit(caller, readJsonBody(event), headerOf(event, 'idempotency-key')),
  },
  'GET /v1/commands/{id}': { status: 200, run: (ctx, caller, _event, id) => ctx.commands.read(caller, id) },
  'GET /v1/me': { status: 200, run: (ctx, caller) => ctx.passkeys.me(caller) },
  'POST /v1/passkeys/options': { status: 200, run: (ctx, caller) => ctx.passkeys.registrationOptions(caller) },
  'POST /v1/passkeys': { status: 201, run: (ctx, caller, event) => ctx.passkeys.register(caller, readJsonBody(event)) },
  'GET /v1/approvals': { status: 200, run: (ctx, caller) => ctx.approvals.list(caller) },
  'POST /v1/approvals/{id}': { status: 200, run: (ctx, caller, event, id) => ctx.approvals.decide(caller, id, readJsonBody(event)) },
  'GET /v1/audit': { status: 200, run: (ctx, caller, event) => ctx.audit.list(caller, event.queryStringParameters) },
  'GET /v1/audit/verify': { status: 200, run: (ctx, caller) => ctx.audit.verify(caller) },
  'GET /v1/audit/proofs/{id}': { status: 200, run: (ctx, caller, _event, seq) => ctx.audit.prove(caller, seq) },
  'GET /v1/audit/consistency': { status: 200, run: (ctx, caller, event) => ctx.audit.consistency(caller, event.queryStringParameters) },
  'POST /v1/audit/checkpoints': { status: 200, run: (ctx, caller, event) => ctx.audit.checkpoint(caller, event.body ? readJsonBody(event) : {}) },
};

/** The gateway invokes the function only for a matched route; anything else is answered as the gateway would. */
function routeOf(event: ApiEvent): Route {
  const key = event.routeKey;
  if (typeof key !== 'string' || !Object.hasOwn(ROUTES, key)) throw new ApiError(404, 'no such route');
  return ROUTES[key as RouteKey];
}

/**
 * Answers one HTTP API request: route, authenticate (401/403 before anything is read), run, respond. Never
 * throws; an unexpected fault is logged and answered with a generic 500.
 */
export async function handleApiRequest(
  ctx: ApiContext,
  event: ApiEvent,
  logError: (message: string, err: unknown) => void,
): Promise<ApiResponse> {
  try {
    const route = routeOf(event);
    const caller = callerOf(event, ctx.topology);
    return jsonResponse(route.status, await route.run(ctx, caller, event, event.pathParameters?.id ?? ''));
  } catch (err) {
    // A token the topology does not let in is a security decision: ledgered, with the name the token carried.
    if (err instanceof CallerRefused && ctx.ledger) {
      await ctx.ledger
        .append({ type: 'message.rejected', actor: API_PRINCIPAL, reason: 'NOT_AUTHORIZED', detail: { principal: err.username, route: event.routeKey ?? null } })
        .catch((e: unknown) => logError('could not ledger a refused caller', e));
    }
    return errorResponse(err, logError);
  }
}
