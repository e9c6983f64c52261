import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { ApiContext, apiContext } from '../api/context';
import type { ApiEvent, ApiResponse } from '../api/http';
import { handleApiRequest } from '../api/router';

export type ApiHandler = (event: ApiEvent, context: Context) => Promise<ApiResponse>;

/**
 * The HTTP API function (DESIGN §8, §10): middy with the Powertools logger around the router. `context` is
 * called on each request and is expected to build once (the local cloud passes its own).
 *
 * @example
 * const handler = createApiHandler(() => ctx); // ctx = createApiContext({ env, signer })
 */
export function createApiHandler(context: () => ApiContext, logger = new Logger({ serviceName: 'agentsec-api' })): ApiHandler {
  const route = (event: ApiEvent): Promise<ApiResponse> =>
    handleApiRequest(context(), event, (message, err) => logger.error(message, err instanceof Error ? err : String(err)));
  return middy(route).use(injectLambdaContext(logger)) as unknown as ApiHandler;
}

/** Built on the first request from `process.env` and the topology the bundle carries. */
export const handler = createApiHandler(apiContext);
