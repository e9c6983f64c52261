import { IncomingMessage, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { complete, modelList, resolveMode } from './policy';
import { ChatRequestSchema, MODES, Mode, errorBody } from './protocol';

/**
 * The offline default model: a deterministic OpenAI-compatible server (DESIGN §9). `honest` follows only
 * the user's instruction; `compromised` obeys every injection it reads, for the attack suite. It keeps the
 * last requests it received, so a test can prove what a model endpoint was (never) shown (DESIGN §6).
 *
 * @example
 * const model = await startModelServer({ mode: 'honest' });
 * const client = new OpenAI({ baseURL: model.url, apiKey: 'unused' });
 * await client.chat.completions.create({ model: 'agentsec-offline', messages: [{ role: 'user', content: 'hi' }] });
 * await model.stop();
 */

export interface ModelServerOptions {
  /** Port to listen on. @default a free port */
  readonly port?: number;
  /** Host name to bind and to put in `url`. @default 'localhost' */
  readonly host?: string;
  /** Mode for requests that do not choose one. @default 'honest' */
  readonly mode?: Mode;
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. @default no authentication */
  readonly apiKey?: string;
  /** How many requests `requests` keeps (oldest dropped first). @default 1000 */
  readonly maxRecorded?: number;
}

/** One request as the server received it. `text` is the raw body: what the model endpoint was shown. */
export interface RecordedRequest {
  readonly at: string;
  readonly method: string;
  readonly path: string;
  /** Request headers, with `authorization` masked. */
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  /** The parsed body, when it was JSON. */
  readonly body?: unknown;
  /** The mode that answered, for chat completions. */
  readonly mode?: Mode;
  readonly status: number;
}

export interface ModelServer {
  /** Base URL for OpenAI clients, ending in `/v1`. */
  readonly url: string;
  readonly port: number;
  /** The last requests received, oldest first (a live array, trimmed in place). */
  readonly requests: RecordedRequest[];
  /** Changes the mode of requests that do not choose one. */
  setMode(mode: Mode): void;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const MODE_HEADER = 'x-agentsec-model-mode';

interface Reply {
  status: number;
  body: unknown;
  mode?: Mode;
}

export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const host = options.host ?? 'localhost';
  const maxRecorded = options.maxRecorded ?? 1000;
  const requests: RecordedRequest[] = [];
  let defaultMode: Mode = options.mode ?? 'honest';

  const server = createServer((req, res) => {
    readBody(req)
      .then((text) => {
        const parsed = parseJson(text);
        const reply = route(req, text, parsed);
        requests.push({
          at: new Date().toISOString(),
          method: req.method ?? '',
          path: req.url ?? '',
          headers: maskedHeaders(req),
          text,
          ...(parsed.ok ? { body: parsed.value } : {}),
          ...(reply.mode ? { mode: reply.mode } : {}),
          status: reply.status,
        });
        if (requests.length > maxRecorded) requests.splice(0, requests.length - maxRecorded);
        send(res, reply);
      })
      .catch((err: Error & { status?: number }) =>
        send(res, { status: err.status ?? 400, body: errorBody(err.message, 'invalid_request_error') }),
      );
  });

  function route(req: IncomingMessage, text: string, parsed: ParsedJson): Reply {
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return { status: 401, body: errorBody('Incorrect API key provided.', 'invalid_request_error', null, 'invalid_api_key') };
    }
    const path = (req.url ?? '').split('?')[0].replace(/\/+$/, '');
    if (req.method === 'GET' && path === '/v1/models') return { status: 200, body: modelList() };
    const model = /^\/v1\/models\/(.+)$/.exec(path);
    if (req.method === 'GET' && model) {
      const found = modelList().data.find((m) => m.id === decodeURIComponent(model[1]));
      return found ? { status: 200, body: found } : notFound(`The model '${decodeURIComponent(model[1])}' does not exist.`);
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') return chatCompletion(req, text, parsed);
    return notFound(`Unknown request URL: ${req.method} ${path}.`);
  }

  function chatCompletion(req: IncomingMessage, text: string, parsed: ParsedJson): Reply {
    if (!parsed.ok) {
      return badRequest(`We could not parse the JSON body of your request (${text.length === 0 ? 'empty body' : parsed.error}).`);
    }
    const request = ChatRequestSchema.safeParse(parsed.value);
    if (!request.success) {
      const issue = request.error.issues[0];
      return badRequest(`Invalid request: ${issue.message}`, issue.path.join('.') || null);
    }
    if (request.data.stream) {
      return badRequest('Streaming is not supported by the AgentSec offline model; send stream: false.', 'stream', 'unsupported_parameter');
    }
    let mode: Mode;
    try {
      mode = resolveMode(request.data.model, header(req, MODE_HEADER), defaultMode);
    } catch (err) {
      return badRequest((err as Error).message, null, 'invalid_mode');
    }
    try {
      return { status: 200, body: complete(request.data, mode), mode };
    } catch (err) {
      // Only a body JSON cannot carry canonically (e.g. a lone surrogate) gets here: the client's fault.
      return badRequest(`Invalid request: ${(err as Error).message}`);
    }
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve((server.address() as AddressInfo).port));
  });

  return {
    url: `http://${host}:${port}/v1`,
    port,
    requests,
    setMode(mode: Mode) {
      if (!(MODES as readonly string[]).includes(mode)) throw new RangeError(`mode must be one of ${MODES.join(', ')}`);
      defaultMode = mode;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

type ParsedJson = { ok: true; value: unknown } | { ok: false; error: string };

function parseJson(text: string): ParsedJson {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error(`Request body larger than ${MAX_BODY_BYTES} bytes.`), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function badRequest(message: string, param: string | null = null, code: string | null = null): Reply {
  return { status: 400, body: errorBody(message, 'invalid_request_error', param, code) };
}

function notFound(message: string): Reply {
  return { status: 404, body: errorBody(message, 'invalid_request_error', null, 'not_found') };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function maskedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[name] = name === 'authorization' ? 'Bearer ***' : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** `npx tsx model-server/server.ts --port 8787 --mode honest [--host localhost] [--api-key KEY]` */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8787' },
      host: { type: 'string', default: 'localhost' },
      mode: { type: 'string', default: 'honest' },
      'api-key': { type: 'string' },
    },
  });
  if (!(MODES as readonly string[]).includes(values.mode!)) throw new Error(`--mode must be one of ${MODES.join(', ')}`);
  const server = await startModelServer({
    port: Number(values.port),
    host: values.host,
    mode: values.mode as Mode,
    apiKey: values['api-key'],
  });
  process.stdout.write(`${server.url}\n`);
  process.stderr.write(`AgentSec offline model (${values.mode}) serving ${server.url}; Ctrl-C to stop\n`);
  const shutdown = () => void server.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
