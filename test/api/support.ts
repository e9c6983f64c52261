import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { DirectiveVerifier } from '../../functions/kernel/directives/verify';
import { EnvelopeCipher } from '../../functions/kernel/messages/envelope-cipher';
import { TABLES, TableName } from '../../functions/kernel/tables';
import { Label, formatLabel } from '../../functions/kernel/labels';
import { LedgerEntry } from '../../functions/kernel/ledger/entry';
import { LedgerReader, LedgerWriter } from '../../functions/kernel/ledger/ledger';
import { ReceivedMessage, receiveMessage } from '../../functions/kernel/messages/receive';
import { newMessageId } from '../../functions/kernel/messages/envelope';
import { DirectiveDelivery, Signer } from '../../functions/signer/signer';
import { InProcessSignerClient } from '../../functions/signer/signer-client';
import { SingleUseStore } from '../../functions/kernel/messages/single-use';
import { loadTopology } from '../../functions/kernel/topology/topology';
import { ApiContext, createApiContext } from '../../functions/api/context';
import type { ApiEvent } from '../../functions/api/http';
import { createApiHandler } from '../../functions/handlers/api';
import { createLambdaContext } from '../../localstack/lambda-runtime';
import { RouteMatcher } from '../../localstack/route-matcher';
import { API_ROUTES, routeKeyOf } from '../../functions/api/routes';
import { ensureTables } from '../../localstack/provision-tables';
import { startTestSequencer } from '../support/sequencer';
import { PendingLedgerWriter } from '../../functions/kernel/ledger/pending';
import { createLevelKeys, createSigningKey, documentClient, dynamo, emulatorEndpoint, kms, unique } from '../support/aws';
import { saltBody } from '../../functions/kernel/messages/salted-body';
import { relyingPartyOf } from '../../functions/signer/passkeys';
import { SoftwareAuthenticator } from '../../localstack/software-authenticator';

/** The console origin the fixture's API and signer take passkeys from. */
export const CONSOLE_ORIGIN = 'http://localhost:4173';

export type Claims = Record<string, string>;

/** Keeps the API function's error logs for the test instead of printing them. */
class CapturingLogger extends Logger {
  constructor(private readonly sink: unknown[]) {
    super({ serviceName: 'agentsec-api-test', logLevel: 'SILENT' });
  }

  override error(...args: Parameters<Logger['error']>): void {
    this.sink.push(args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(' '));
  }
}

/** JWT claims as the Cognito authorizer passes them: `custom:compartments` comma-separated, empty for none. */
export function claimsOf(username: string, clearance: Label): Claims {
  return {
    'cognito:username': username,
    'custom:clearance': clearance.level,
    'custom:compartments': clearance.compartments.join(','),
  };
}

export interface ApiEventInput {
  method: string;
  path: string;
  /** An object is sent as JSON; a string as is. */
  body?: unknown;
  claims?: Claims;
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

const routes = new RouteMatcher(API_ROUTES);

/**
 * An API Gateway HTTP API payload 2.0 event behind a JWT authorizer, with the route key and path parameters
 * the gateway's route selection gives it (an unmatched path keeps its own method and path as the key).
 */
export function apiEvent(input: ApiEventInput): ApiEvent {
  const rawQueryString = new URLSearchParams(input.query ?? {}).toString();
  const match = routes.match(input.method, input.path);
  const routeKey = match ? routeKeyOf(match.route) : `${input.method} ${input.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: input.path,
    rawQueryString,
    headers: { 'content-type': 'application/json', ...(input.headers ?? {}) },
    ...(input.query ? { queryStringParameters: input.query } : {}),
    ...(match && Object.keys(match.pathParameters).length > 0 ? { pathParameters: match.pathParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'test',
      authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: input.claims ?? {}, scopes: [] } },
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: input.method, path: input.path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'jest' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    ...(input.body === undefined ? {} : { body: typeof input.body === 'string' ? input.body : JSON.stringify(input.body) }),
    isBase64Encoded: false,
  };
}

export interface ApiReply {
  status: number;
  headers: Record<string, unknown>;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  raw: string;
}

/**
 * Real keys, tables, a core queue, the real signer (in-process) and the API function built by its own
 * factory, all on the emulator. One per test file; every user of the repository topology can call it.
 */
export async function apiFixture(options: { now?: () => Date } = {}) {
  const topology = loadTopology();
  const kmsClient = kms();
  const doc = documentClient();
  const sqs = new SQSClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
  const prefix = unique('api');
  const [keyArns, authorityKeyArn, tables, coreQueue] = await Promise.all([
    createLevelKeys(kmsClient),
    createSigningKey(kmsClient),
    ensureTables(dynamo(), prefix),
    sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-core` })),
  ]);
  const coreQueueUrl = coreQueue.QueueUrl!;
  // The signer's checkpoints go to the sealed log; everything else the API and the signer record goes through the sequencer.
  const ledger = new LedgerWriter({ doc, tableName: tables.ledger });
  const sequencer = await startTestSequencer(tables.ledger);
  const delivered: { requestId: string; directiveId: string }[] = [];
  const deliver: DirectiveDelivery = async (request, directive) => {
    delivered.push({ requestId: request.requestId, directiveId: directive.claims.id });
  };
  const signer = new Signer({
    topology,
    kms: kmsClient,
    authorityKeyArn,
    doc,
    tables: { commands: tables.commands, approvals: tables.approvals, ledger: tables.ledger },
    ledger: new PendingLedgerWriter({ doc, tableName: tables.ledger, writer: 'signer' }),
    checkpointLog: ledger,
    cipher: new EnvelopeCipher({ kms: kmsClient, keyArns }),
    deliver,
    relyingParty: relyingPartyOf(CONSOLE_ORIGIN),
  });
  const env: Record<string, string> = {
    AGENTSEC_AWS_ENDPOINT: emulatorEndpoint(),
    AWS_REGION: 'us-east-1',
    AGENTSEC_KEY_ARNS: JSON.stringify(keyArns),
    AGENTSEC_AUTHORITY_KEY_ARN: authorityKeyArn,
    AGENTSEC_QUEUE_URLS: JSON.stringify({ core: coreQueueUrl }),
    AGENTSEC_CONSOLE_ORIGIN: CONSOLE_ORIGIN,
    ...Object.fromEntries((Object.keys(TABLES) as TableName[]).map((t) => [TABLES[t].env, tables[t]])),
  };
  const ctx: ApiContext = createApiContext({ env, topology, signer: () => new InProcessSignerClient(signer), now: options.now });
  const logged: unknown[] = [];
  const handler = createApiHandler(() => ctx, new CapturingLogger(logged));
  const cipher = new EnvelopeCipher({ kms: kmsClient, keyArns });

  /** Calls the API function as API Gateway would. `expectFault` keeps an intended 500's log quiet. */
  async function call(input: ApiEventInput, options: { expectFault?: boolean } = {}): Promise<ApiReply> {
    const out = await handler(apiEvent(input), createLambdaContext({ functionName: 'agentsec-api', timeoutMs: 30_000 }));
    const raw = out.body ?? '';
    // A 500 is never expected by these tests: show what the function logged, which the body never carries.
    if ((out.statusCode ?? 0) >= 500 && !options.expectFault && logged.length > 0) process.stderr.write(`API logged: ${String(logged.at(-1))}\n`);
    return { status: out.statusCode ?? 0, headers: out.headers ?? {}, body: raw ? JSON.parse(raw) : undefined, raw };
  }

  /** A user of the repository topology, by name. */
  function user(username: string): Claims {
    const u = topology.users.find((x) => x.username === username);
    if (!u) throw new Error(`no user ${username}`);
    return claimsOf(u.username, u.clearance);
  }

  /** Takes every message now on core's queue off it. */
  async function drainCoreQueue(): Promise<string[]> {
    const bodies: string[] = [];
    for (;;) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: coreQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!out.Messages?.length) return bodies;
      for (const m of out.Messages) {
        bodies.push(m.Body!);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: coreQueueUrl, ReceiptHandle: m.ReceiptHandle! }));
      }
    }
  }

  /** Core's side of a task message: the kernel's receive pipeline, as core runs it. */
  function receiveAsCore(body: string): Promise<ReceivedMessage> {
    return receiveMessage(body, {
      self: 'core',
      topology,
      cipher,
      singleUse: new SingleUseStore(doc, tables.nonces, 'core'),
      verifier: new DirectiveVerifier({ kms: kmsClient, authorityKeyArn }),
    });
  }

  async function commandItem(commandId: string): Promise<Record<string, unknown> | undefined> {
    const out = await doc.send(new GetCommand({ TableName: tables.commands, Key: { commandId }, ConsistentRead: true }));
    return out.Item;
  }

  /** Stores an answer as core does: sealed from core to the API at the answer's label. */
  async function completeAsCore(commandId: string, answer: string, answerLabel: Label): Promise<void> {
    const resultMessageId = newMessageId();
    const resultCiphertext = await cipher.seal({ from: 'core', to: 'api', label: answerLabel, messageId: resultMessageId, commandId, plaintext: saltBody(answer).sealed });
    await doc.send(
      new UpdateCommand({
        TableName: tables.commands,
        Key: { commandId },
        UpdateExpression: 'SET #s = :s, resultCiphertext = :c, resultMessageId = :m, resultLabel = :l, updatedAt = :now',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':s': 'completed',
          ':c': resultCiphertext,
          ':m': resultMessageId,
          ':l': formatLabel(answerLabel),
          ':now': new Date().toISOString(),
        },
      }),
    );
  }

  const authenticators = new Map<string, SoftwareAuthenticator>();
  /** The approver's passkey, registered through the API as the console does (options, ceremony, registration) on first use. */
  async function passkeyOf(username: string): Promise<SoftwareAuthenticator> {
    const known = authenticators.get(username);
    if (known) return known;
    const options = await call({ method: 'POST', path: '/v1/passkeys/options', claims: user(username) });
    if (options.status !== 200) throw new Error(`passkey options for ${username}: ${options.status} ${options.raw}`);
    const key = new SoftwareAuthenticator(CONSOLE_ORIGIN);
    const registered = await call({ method: 'POST', path: '/v1/passkeys', claims: user(username), body: { response: key.register(options.body.options) } });
    if (registered.status !== 201) throw new Error(`passkey of ${username}: ${registered.status} ${registered.raw}`);
    authenticators.set(username, key);
    return key;
  }

  /** `username` approves `requestId` as the console does: the pending item's options signed with their passkey. */
  async function approveWithPasskey(username: string, requestId: string, extra: { reason?: string } = {}): Promise<ApiReply> {
    const key = await passkeyOf(username);
    const pending = await call({ method: 'GET', path: '/v1/approvals', claims: user(username) });
    const item = (pending.body as { requestId: string; digest: string; passkey: { options: never } }[]).find((p) => p.requestId === requestId);
    if (!item) throw new Error(`${username} does not see request ${requestId}`);
    const body = { decision: 'approve', digest: item.digest, passkey: key.sign(item.passkey.options), ...extra };
    return call({ method: 'POST', path: `/v1/approvals/${requestId}`, claims: user(username), body });
  }

  /** The sealed log, once everything appended so far is sealed. */
  const ledgerEntries = async (): Promise<LedgerEntry[]> => {
    await sequencer.sealed();
    return new LedgerReader({ doc, tableName: tables.ledger }).readAll();
  };

  return {
    topology,
    passkeyOf,
    approveWithPasskey,
    /** The API function's environment, to build variants of its context. */
    env,
    doc,
    sqs,
    kms: kmsClient,
    keyArns,
    cipher,
    tables,
    coreQueueUrl,
    ledger,
    signer,
    delivered,
    ctx,
    call,
    user,
    drainCoreQueue,
    receiveAsCore,
    commandItem,
    completeAsCore,
    ledgerEntries,
    /** Resolves once every entry appended so far is sealed (before a checkpoint, a read of the log through the API). */
    sealed: sequencer.sealed,
    logged,
  };
}

export type ApiFixture = Awaited<ReturnType<typeof apiFixture>>;

/** A valid command body at `level`/`compartments`. */
export function commandBody(text: string, level: string, compartments: string[] = [], extra: Record<string, unknown> = {}) {
  return { text, classification: { level, compartments }, ...extra };
}
