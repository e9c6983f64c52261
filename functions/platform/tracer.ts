import { Tracer } from '@aws-lambda-powertools/tracer';
import { once } from './once';

/**
 * This process's X-Ray tracer (Powertools Tracer), built on first use from the environment: the service from
 * `POWERTOOLS_SERVICE_NAME`; off outside Lambda and when `POWERTOOLS_TRACE_ENABLED` is false (the local cloud sets it:
 * one machine has no X-Ray daemon).
 */
export const processTracer = once(() => new Tracer());
