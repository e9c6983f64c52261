import { ApiError } from './errors';
import { ApiEvent } from './http';

/**
 * The largest request body read: a command's text is at most 16 KiB of UTF-8, and JSON escaping can grow it
 * up to six-fold; anything larger is refused before it is parsed.
 */
export const MAX_BODY_BYTES = 128 * 1024;

/** The request body as JSON; malformed, binary-garbled or oversized bodies are 400 SCHEMA. */
export function readJsonBody(event: ApiEvent): unknown {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) throw ApiError.schema('request body is too large');
  if (text.trim().length === 0) throw ApiError.schema('request body is empty');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw ApiError.schema('request body is not JSON');
  }
}

/** A request header by case-insensitive name (API Gateway lower-cases them; a hand-built event may not). */
export function headerOf(event: ApiEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}
