import { ReasonCode, isSecurityError } from '../kernel/errors';
import { ApiResponse, jsonResponse } from './http';

/**
 * Refusals of the HTTP API, each with the status DESIGN §10 gives it. Bodies are `{message, reason?}`; the
 * reason is the kernel's reason code where one applies, so clients and tests match on it.
 *
 * @example
 * throw ApiError.schema('text must not be empty'); // 400 {message, reason: 'SCHEMA'}
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly reason?: ReasonCode,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** 400: the request is malformed. Raised before anything is read or written. */
  static schema(message: string): ApiError {
    return new ApiError(400, message, 'SCHEMA');
  }

  /** 401: no usable identity in the token (DESIGN §10). */
  static unauthenticated(message: string): ApiError {
    return new ApiError(401, message);
  }

  /** 403: the caller's clearance or role does not allow this. */
  static forbidden(message: string): ApiError {
    return new ApiError(403, message, 'NOT_AUTHORIZED');
  }

  /** 404: one answer for "absent" and "not yours", so existence is never revealed. */
  static notFound(what: string): ApiError {
    return new ApiError(404, `${what} not found`);
  }

  /** 409: the request conflicts with what is already recorded. */
  static conflict(message: string, reason?: ReasonCode): ApiError {
    return new ApiError(409, message, reason);
  }
}

/** Kernel refusals that are the caller's to fix or not allowed to them; every other one is an internal fault. */
const STATUS_OF_REASON: Partial<Record<ReasonCode, number>> = {
  SCHEMA: 400,
  NOT_AUTHORIZED: 403,
  READ_UP: 403,
  WRITE_DOWN: 403,
};

export const INTERNAL_ERROR_MESSAGE = 'internal error';
export const UNAVAILABLE_MESSAGE = 'service unavailable: a backing AWS service did not answer or its resources are missing; try again later';

/** AWS errors meaning the service is down, throttling, or lost its resources (an emulator restarted empty). */
const UNAVAILABLE_ERRORS = new Set([
  'ResourceNotFoundException',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'NotFoundException',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'KMSInternalException',
  'DependencyTimeoutException',
  'TimeoutError',
]);
/** Network failures reaching an endpoint; the SDK may wrap them, keeping the code only in the message. */
const UNREACHABLE = /\b(?:ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)\b/;

/** True for a fault of the AWS services behind the API rather than of the API itself. */
export function isServiceUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string; $fault?: string } | undefined;
  return UNAVAILABLE_ERRORS.has(e?.name ?? '') || UNREACHABLE.test(`${e?.code ?? ''} ${e?.message ?? ''}`) || e?.$fault === 'server';
}

/**
 * The response for anything a route threw. An unavailable backing service answers 503 (the client may retry);
 * other internal faults answer 500. Both carry a generic message and are logged; a stack, a KMS or DynamoDB
 * message never reaches the body.
 */
export function errorResponse(err: unknown, logError: (message: string, err: unknown) => void): ApiResponse {
  if (err instanceof ApiError) {
    return jsonResponse(err.statusCode, { message: err.message, ...(err.reason ? { reason: err.reason } : {}) });
  }
  if (isSecurityError(err)) {
    const statusCode = STATUS_OF_REASON[err.reason];
    if (statusCode !== undefined) return jsonResponse(statusCode, { message: err.message, reason: err.reason });
  }
  logError('request failed', err);
  if (isServiceUnavailable(err)) return jsonResponse(503, { message: UNAVAILABLE_MESSAGE }, { 'retry-after': '5' });
  return jsonResponse(500, { message: INTERNAL_ERROR_MESSAGE });
}
