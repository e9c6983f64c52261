import { CONSOLE_FILES, bundleConsoleSync } from '../../console/build';
import { ConsoleServer, startConsoleServer } from '../../localstack/console-server';

/**
 * The console as the local cloud serves it: the built files, `/config.json` once the API is up, and headers that keep
 * the page from running anything but its own script or talking to anything but the API and Cognito.
 */

const assets = bundleConsoleSync();
const CONFIG = { apiUrl: 'http://localhost:4001', region: 'us-east-1', userPoolClientId: 'client-1', cognitoEndpoint: 'http://localhost:4002' };

describe('the console server', () => {
  let server: ConsoleServer;
  beforeAll(async () => {
    server = await startConsoleServer({ assets });
  });
  afterAll(() => server.close());

  const get = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);
  const directives = (res: Response) =>
    Object.fromEntries(
      res.headers
        .get('content-security-policy')!
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    );

  it('listens on localhost, the host passkeys are bound to', () => {
    expect(new URL(server.url).hostname).toBe('localhost');
  });

  it('answers /config.json 503 until the local cloud has configured it, then with the configuration', async () => {
    expect((await get('/config.json')).status).toBe(503);
    server.configure(CONFIG);
    const res = await get('/config.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual(CONFIG);
  });

  it.each([
    ['/', 'index.html', 'text/html; charset=utf-8'],
    ['/index.html', 'index.html', 'text/html; charset=utf-8'],
    ['/app.js', 'app.js', 'text/javascript; charset=utf-8'],
    ['/styles.css', 'styles.css', 'text/css; charset=utf-8'],
  ] as const)('serves %s as the built %s', async (path, file, type) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(Buffer.from(await res.arrayBuffer()).equals(assets[file])).toBe(true);
  });

  it('builds exactly the three files a static host serves', () => {
    expect(Object.keys(assets).sort()).toEqual([...CONSOLE_FILES].sort());
  });

  it("lets the page connect only to itself, the API and Cognito, run only its own script, and never be framed", async () => {
    server.configure(CONFIG);
    for (const path of ['/', '/app.js', '/config.json', '/missing']) {
      const res = await get(path);
      const csp = directives(res);
      expect(csp['default-src']).toEqual(["'none'"]);
      expect(csp['script-src']).toEqual(["'self'"]);
      expect(csp['style-src']).toEqual(["'self'"]);
      expect(csp['connect-src'].sort()).toEqual(["'self'", 'http://localhost:4001', 'http://localhost:4002'].sort());
      expect(csp['frame-ancestors']).toEqual(["'none'"]);
      expect(csp['require-trusted-types-for']).toEqual(["'script'"]);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('on AWS-like configuration (no cognitoEndpoint) allows the regional Cognito endpoint', async () => {
    server.configure({ apiUrl: 'https://api.example.com/', region: 'eu-west-1', userPoolClientId: 'c' });
    expect(directives(await get('/'))['connect-src']).toEqual(["'self'", 'https://api.example.com', 'https://cognito-idp.eu-west-1.amazonaws.com']);
    server.configure(CONFIG);
  });

  it('has no inline script or style in the page: every script is a file of its own origin', () => {
    const html = assets['index.html'].toString();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map(([, attributes, body]) => [/\bsrc="app\.js"/.test(attributes), body.trim()])).toEqual([[true, '']]);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
  });

  it('builds a script with no HTML string sink: text reaches the page only as text', () => {
    const script = assets['app.js'].toString();
    for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function']) expect([sink, script.includes(sink)]).toEqual([sink, false]);
  });

  it('serves nothing else: other paths are 404, other methods 405', async () => {
    for (const path of ['/../local.json', '/local.json', '/console/build.ts', '/app.js.map', '/%2e%2e/package.json']) {
      expect([path, (await get(path)).status]).toEqual([path, 404]);
    }
    const post = await get('/config.json', { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});
