import { createPrivateKey, KeyObject, sign } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { venvDirectory } from './emulator';

/** Tokens the emulator's Cognito accepts, minted outside it: for the tests and the red team's forged identities. */

/** A compact JWS with the given header and payload, RS256-signed by `key` (or unsigned for `alg: none`). */
export function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key?: KeyObject): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc(header)}.${enc(payload)}`;
  const signature = key ? sign('sha256', Buffer.from(input), key).toString('base64url') : '';
  return `${input}.${signature}`;
}

export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url').toString()), payload: JSON.parse(Buffer.from(p, 'base64url').toString()) };
}

/**
 * The private key moto signs every user pool's tokens with. It ships inside moto, so anyone can mint tokens
 * the emulator's JWKS verifies: tests use it to build otherwise-valid tokens (expired, elevated).
 */
export function motoSigningKey(): KeyObject | undefined {
  const lib = path.join(venvDirectory(), 'lib');
  if (!existsSync(lib)) return undefined;
  for (const python of readdirSync(lib)) {
    const file = path.join(lib, python, 'site-packages', 'moto', 'cognitoidp', 'resources', 'jwks-private.json.gz');
    if (existsSync(file)) return rsaKeyFromPrivateExponent(JSON.parse(gunzipSync(readFileSync(file)).toString()));
  }
  return undefined;
}

/** moto's JWK has only n, e, d; node needs the CRT parameters, recovered here by the standard factoring of n. */
function rsaKeyFromPrivateExponent(jwk: { n: string; e: string; d: string }): KeyObject {
  const big = (b64: string) => BigInt(`0x${Buffer.from(b64, 'base64url').toString('hex')}`);
  const b64 = (x: bigint) => {
    const hex = x.toString(16);
    return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
  };
  const modPow = (base: bigint, exp: bigint, mod: bigint) => {
    let result = 1n;
    for (base %= mod; exp > 0n; exp >>= 1n, base = (base * base) % mod) if (exp & 1n) result = (result * base) % mod;
    return result;
  };
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
  const [n, e, d] = [big(jwk.n), big(jwk.e), big(jwk.d)];
  let r = d * e - 1n;
  let t = 0n;
  while (r % 2n === 0n) [r, t] = [r / 2n, t + 1n];
  for (let g = 2n; ; g++) {
    let y = modPow(g, r, n);
    if (y === 1n || y === n - 1n) continue;
    for (let i = 0n; i < t; i++) {
      const x = (y * y) % n;
      if (x === 1n) {
        const p = gcd(y - 1n, n);
        const q = n / p;
        const qi = modPow(q, p - 2n, p); // p is prime: Fermat inverse
        return createPrivateKey({
          key: { kty: 'RSA', n: jwk.n, e: jwk.e, d: jwk.d, p: b64(p), q: b64(q), dp: b64(d % (p - 1n)), dq: b64(d % (q - 1n)), qi: b64(qi) },
          format: 'jwk',
        });
      }
      if (x === n - 1n) break;
      y = x;
    }
  }
}
