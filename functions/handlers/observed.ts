import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { processMetrics } from '../platform/metrics';
import { processTracer } from '../platform/tracer';
import { once } from '../platform/once';

/**
 * A handler body with the Powertools middlewares around it: an X-Ray segment per invocation, the Lambda context in every
 * log line, and the metrics counted during the invocation flushed after it (or after its error). Built on the first
 * invocation, so that importing a handler module constructs nothing and the tracer and metrics read the environment
 * the function runs with.
 *
 * Responses are never recorded in traces: they carry what users are cleared to read (an answer, a decision), and X-Ray
 * is not cleared for anything (DESIGN §3).
 *
 * @example
 * export const handler = observed((event: DynamoDBStreamEvent) => handleLedgerStream(event), logger);
 */
export function observed<E, R>(body: (event: E, context: Context) => Promise<R>, logger: Logger): (event: E, context: Context) => Promise<R> {
  const built = once(() =>
    middy(body)
      .use(captureLambdaHandler(processTracer(), { captureResponse: false }))
      .use(injectLambdaContext(logger))
      .use(logMetrics(processMetrics())),
  );
  return (event, context) => built()(event, context) as Promise<R>;
}
