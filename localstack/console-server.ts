import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONSOLE_FILES, ConsoleAssets, ConsoleFile, bundleConsoleSync } from '../console/build';

/**
 * The operator console on one machine: a node:http server on localhost that serves the built console and its
 * `/config.json` (where the API and Cognito are), as the stack's bucket serves them on AWS. It starts before the API,
 * so the API can be told the console's origin (CORS, the passkeys' WebAuthn origin); the configuration follows.
 */

/** What `/config.json` tells the console. */
export interface ConsoleConfig {
  readonly apiUrl: string;
  readonly region: string;
  readonly userPoolClientId: string;
  /** Where Cognito's `InitiateAuth` is posted; the console uses `https://cognito-idp.<region>.amazonaws.com/` without it. */
  readonly cognitoEndpoint?: string;
}

export interface ConsoleServerProps {
  /** @default a free port */
  readonly port?: number;
  /** @default 'localhost' (a secure context for WebAuthn without TLS, and the passkeys' rpId) */
  readonly host?: string;
  /** @default bundleConsoleSync() */
  readonly assets?: ConsoleAssets;
}

export interface ConsoleServer {
  /** The console's URL and origin, e.g. `http://localhost:43211`. */
  readonly url: string;
  readonly port: number;
  /** Sets what `/config.json` answers and the origins the console may connect to; until then it is a 503. */
  configure(config: ConsoleConfig): void;
  close(): Promise<void>;
}

const CONTENT_TYPES: Readonly<Record<ConsoleFile | 'config.json', string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'styles.css': 'text/css; charset=utf-8',
  'config.json': 'application/json',
};

/**
 * The console's Content-Security-Policy: its own script and style only, no inline script or style, fetches to its own
 * origin (`config.json`), the API and Cognito and nowhere else, never framed, and no HTML string sinks (Trusted Types
 * with no policy): classified and attacker-chosen text can reach the page only as text.
 */
export function consoleContentSecurityPolicy(config?: ConsoleConfig): string {
  const connect = ["'self'", ...(config ? [originOf(config.apiUrl), originOf(config.cognitoEndpoint ?? `https://cognito-idp.${config.region}.amazonaws.com/`)] : [])];
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${[...new Set(connect)].join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

/**
 * Starts the console server.
 *
 * @example
 * const console = await startConsoleServer();
 * const api = await startHttpApi({ ..., corsOrigins: [console.url] });
 * console.configure({ apiUrl: api.url, region, userPoolClientId, cognitoEndpoint: emulator.endpoint });
 */
export async function startConsoleServer(props: ConsoleServerProps = {}): Promise<ConsoleServer> {
  const assets = props.assets ?? bundleConsoleSync();
  const host = props.host ?? 'localhost';
  let config: ConsoleConfig | undefined;

  const server = http.createServer((req, res) => {
    const headers: http.OutgoingHttpHeaders = {
      'content-security-policy': consoleContentSecurityPolicy(config),
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      // Built at every start; the configuration changes with every start.
      'cache-control': 'no-store',
    };
    const send = (status: number, body: Buffer | string, type = 'text/plain; charset=utf-8', extra: http.OutgoingHttpHeaders = {}) => {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      res.writeHead(status, { ...headers, ...extra, 'content-type': type, 'content-length': String(bytes.length) });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'Method Not Allowed\n', undefined, { allow: 'GET, HEAD' });
    const name = new URL(req.url ?? '/', 'http://console').pathname.replace(/^\//, '') || 'index.html';
    if (name === 'config.json') {
      if (!config) return send(503, 'The local cloud is still starting.\n', undefined, { 'retry-after': '1' });
      return send(200, JSON.stringify(config), CONTENT_TYPES['config.json']);
    }
    if (!(CONSOLE_FILES as readonly string[]).includes(name)) return send(404, 'Not Found\n');
    return send(200, assets[name as ConsoleFile], CONTENT_TYPES[name as ConsoleFile]);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(props.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    configure(next) {
      config = { ...next };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function originOf(url: string): string {
  return new URL(url).origin;
}
