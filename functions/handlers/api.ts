import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { ApiContext, apiContext } from '../api/context';
import type { ApiEvent, ApiResponse } from '../api/http';
import { handleApiRequest } from '../api/router';
import { API_PRINCIPAL } from '../api/commands';
import { serviceNameOf } from '../platform/metrics';
import { observed } from './observed';

export type ApiHandler = (event: ApiEvent, context: Context) => Promise<ApiResponse>;

/**
 * The HTTP API function (DESIGN §8, §10): the Powertools middlewares (traces, logs, metrics) around the router. `context` is
 * called on each request and is expected to build once (the local cloud passes its own).
 *
 * @example
 * const handler = createApiHandler(() => ctx); // ctx = createApiContext({ env, signer })
 */
export function createApiHandler(context: () => ApiContext, logger = new Logger({ serviceName: serviceNameOf(API_PRINCIPAL) })): ApiHandler {
  const route = (event: ApiEvent): Promise<ApiResponse> =>
    handleApiRequest(context(), event, (message, err) => logger.error(message, err instanceof Error ? err : String(err)));
  return observed(route, logger);
}

/** Built on the first request from `process.env` and the topology the bundle carries. */
export const handler = createApiHandler(apiContext);
