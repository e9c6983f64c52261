import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { SecurityError } from './errors';

/**
 * One byte string per JSON value (RFC 8785), so a digest or a signature binds the value and not the way
 * it happened to be written (DESIGN §5: directives bind the SHA-256 of the canonical arguments).
 */

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Refuses anything JSON cannot carry unambiguously: `undefined` (except as an absent object member, as in
 * JSON), functions, symbols, bigints, non-finite numbers, lone surrogates, cycles and non-plain objects
 * (Date, Map, Buffer...), whose `toJSON` or silent `{}` would let two different values share a digest.
 */
function assertJson(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new SecurityError('SCHEMA', `${path}: string is not well-formed Unicode`);
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new SecurityError('SCHEMA', `${path}: ${value} is not a JSON number`);
      return;
    case 'object':
      break;
    default:
      throw new SecurityError('SCHEMA', `${path}: ${typeof value} is not JSON`);
  }
  if (value === null) return;
  if (ancestors.has(value)) throw new SecurityError('SCHEMA', `${path}: cyclic value`);
  ancestors.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertJson(item, `${path}[${i}]`, ancestors));
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new SecurityError('SCHEMA', `${path}: ${proto?.constructor?.name ?? 'object'} is not a plain JSON object`);
    }
    for (const [key, member] of Object.entries(value)) {
      if (LONE_SURROGATE.test(key)) throw new SecurityError('SCHEMA', `${path}: key is not well-formed Unicode`);
      if (member !== undefined) assertJson(member, `${path}.${key}`, ancestors);
    }
  }
  ancestors.delete(value);
}

/** RFC 8785 canonical JSON of `value`; throws SecurityError SCHEMA for anything that is not JSON. */
export function canonicalJson(value: unknown): string {
  assertJson(value, '$', new Set());
  const text = canonicalize(value);
  if (text === undefined) throw new SecurityError('SCHEMA', '$: value is not JSON');
  return text;
}

/** Lower-case hex SHA-256 of bytes, or of a string's UTF-8 encoding. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 (hex) of the canonical JSON of `value`: equal values, however written, share one digest. */
export function digestOf(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
