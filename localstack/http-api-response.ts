/**
 * How API Gateway HTTP APIs (payload format 2.0) turn a Lambda result into an HTTP response: a result with a
 * `statusCode` is a structured response; anything else is a 200 whose JSON body is the result (a string is
 * the body itself). A structured response API Gateway cannot read is a 500, like its gateway error.
 */

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

/** A gateway-generated error response: `{"message": ...}` as API Gateway writes it. */
export function gatewayError(statusCode: number, message: string): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ message })),
  };
}

export const INTERNAL_SERVER_ERROR = () => gatewayError(500, 'Internal Server Error');

export function fromLambdaResult(result: unknown): HttpResponse {
  if (typeof result === 'string') return json(200, result);
  if (result === null || typeof result !== 'object' || Array.isArray(result) || !('statusCode' in result)) {
    return json(200, JSON.stringify(result ?? null));
  }
  return fromStructured(result as Record<string, unknown>);
}

function fromStructured(result: Record<string, unknown>): HttpResponse {
  const { statusCode, headers = {}, body, isBase64Encoded, cookies } = result;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    return INTERNAL_SERVER_ERROR();
  }
  if (body !== undefined && body !== null && typeof body !== 'string') return INTERNAL_SERVER_ERROR();
  if (typeof headers !== 'object' || headers === null) return INTERNAL_SERVER_ERROR();
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) return INTERNAL_SERVER_ERROR();
    out[name.toLowerCase()] = String(value);
  }
  if (cookies !== undefined) {
    if (!Array.isArray(cookies) || !cookies.every((c) => typeof c === 'string')) return INTERNAL_SERVER_ERROR();
    if (cookies.length > 0) out['set-cookie'] = cookies;
  }
  out['content-type'] ??= 'application/json';
  const text = typeof body === 'string' ? body : '';
  return { statusCode, headers: out, body: Buffer.from(text, isBase64Encoded === true ? 'base64' : 'utf8') };
}

function json(statusCode: number, body: string): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
}
