import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A model endpoint in front of the offline model that fails the requests a predicate picks (HTTP 503), the way
 * a provider fails during an outage, and never answers those another picks (a provider that hangs);
 * everything else is forwarded. Fails every request until `target` is set.
 */
export class ModelOutage {
  /** Where healthy requests go: the offline model's base URL (ending in `/v1`). */
  target?: string;
  /** Requests answered 503 so far. */
  failed = 0;
  /** Requests left unanswered so far. */
  hung = 0;
  private readonly open = new Set<import('node:http').ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly fails: (body: string) => boolean,
    private readonly hangs: (body: string) => boolean,
  ) {}

  static async start(fails: (body: string) => boolean, hangs: (body: string) => boolean = () => false): Promise<ModelOutage> {
    let outage: ModelOutage | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void outage!.answer(req.method ?? 'GET', req.url ?? '/', Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
    const { port } = server.address() as AddressInfo;
    outage = new ModelOutage(server, `http://localhost:${port}/v1`, fails, hangs);
    return outage;
  }

  private async answer(method: string, path: string, body: string, res: import('node:http').ServerResponse): Promise<void> {
    if (this.target && this.hangs(body)) {
      this.hung += 1;
      this.open.add(res);
      return;
    }
    if (!this.target || this.fails(body)) {
      this.failed += 1;
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'model endpoint unavailable (injected outage)' } }));
      return;
    }
    try {
      const upstream = await fetch(`${this.target.replace(/\/v1$/, '')}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : body });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(await upstream.text());
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
  }

  stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
