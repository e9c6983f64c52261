import { SoftwarePasskeys } from '../cli/software-passkeys';
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsClientConfig, instrumentClients } from '../functions/platform/aws-clients';
import { LedgerEntry, LedgerEntryInput } from '../functions/kernel/ledger/entry';
import { LedgerReader } from '../functions/kernel/ledger/ledger';
import { PendingLedgerWriter } from '../functions/kernel/ledger/pending';
import { AgentMessage, agentMessageSchema } from '../functions/kernel/messages/envelope';
import { Outbox, OutboxRecord } from '../functions/stores/outbox';
import { Topology, loadTopology } from '../functions/kernel/topology/topology';
import { ApiClient } from '../cli/api-client';
import { login } from '../localstack/cognito';
import { LocalCloud, startLocalCloud } from '../localstack/local-cloud';
import { LocalResources } from '../localstack/local-state';
import { ModelServer, startModelServer } from '../model-server/server';
import { tableNameFor } from '../localstack/provision-tables';
import type { TableName } from '../functions/kernel/tables';
import { sleep } from './attempt';

/** An SQS body a kernel client sent (DESIGN §1, adversary 5: whoever reads queues sees these). */
export interface CapturedMessage {
  readonly queueUrl: string;
  readonly body: string;
  /** The body as a message, when it is one. */
  readonly message?: AgentMessage;
}

export interface RedTeamCloudOptions {
  /** An emulator already running (`AGENTSEC_AWS_ENDPOINT`); @default one started for the run */
  readonly endpoint?: string;
  readonly log?: (line: string) => void;
}

/**
 * The local cloud under attack (DESIGN §9) with every model endpoint on its own compromised offline model, so
 * `models[endpoint].requests` is exactly what that endpoint was shown. Every SQS body the kernel sends is
 * captured for replay, and the emulator's non-atomic conditional puts are serialized (as DynamoDB makes them
 * atomic), so a broken chain is the attacker's doing and never the emulator's.
 */
export class RedTeamCloud {
  readonly doc: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly kms: KMSClient;
  readonly topology: Topology;
  private readonly clients = new Map<string, Promise<ApiClient>>();
  /** The approvers' passkeys (software authenticators), registered through the API on first use. */
  readonly passkeys: SoftwarePasskeys;
  private readonly deadLetters = new Map<string, string[]>();

  private constructor(
    readonly cloud: LocalCloud,
    readonly models: Readonly<Record<string, ModelServer>>,
    readonly captured: CapturedMessage[],
    private readonly cleanup: () => Promise<void>,
  ) {
    this.passkeys = new SoftwarePasskeys(cloud.state.consoleUrl, (username) => this.as(username));
    const config = awsClientConfig({ endpoint: cloud.state.endpoint, region: cloud.state.region });
    this.doc = DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
    this.sqs = new SQSClient(config);
    this.kms = new KMSClient(config);
    this.topology = loadTopology();
  }

  static async start(options: RedTeamCloudOptions = {}): Promise<RedTeamCloud> {
    if (options.endpoint) process.env.AGENTSEC_AWS_ENDPOINT = options.endpoint;
    const captured: CapturedMessage[] = [];
    const topology = loadTopology();
    const models: Record<string, ModelServer> = {};
    const prefix = `rt${randomUUID().slice(0, 8)}`;
    const undo = [instrumentClients((client, service) => instrument(client, service, prefix, captured))];
    try {
      for (const name of topology.modelEndpoints.keys()) models[name] = await startModelServer({ mode: 'compromised', maxRecorded: 1_000_000 });
      const cloud = await startLocalCloud({
        prefix,
        compromised: true,
        stateFile: false,
        topology,
        modelUrls: Object.fromEntries(Object.entries(models).map(([name, m]) => [name, m.url])),
        // Checkpoints are asked for through the API when an attack needs one, never mid-tampering.
        checkpointIntervalMs: 24 * 3600_000,
        logger: { error: () => undefined, warn: () => undefined },
        logLevel: 'SILENT',
        log: options.log,
      });
      return new RedTeamCloud(cloud, models, captured, async () => {
        for (const u of undo) u();
        await cloud.stop();
        for (const m of Object.values(models)) await m.stop();
      });
    } catch (err) {
      for (const u of undo) u();
      for (const m of Object.values(models)) await m.stop();
      throw err;
    }
  }

  get state(): LocalResources {
    return this.cloud.state;
  }

  /** The messages the kernel sent to `agent`'s queue so far, oldest first. */
  sentTo(agent: string): Array<CapturedMessage & { message: AgentMessage }> {
    const url = this.state.queues[agent];
    return this.captured.filter((c): c is CapturedMessage & { message: AgentMessage } => c.queueUrl === url && c.message !== undefined);
  }

  /** The user's API client, logged in once through Cognito. */
  as(username: string): Promise<ApiClient> {
    let client = this.clients.get(username);
    if (!client) {
      client = this.token(username).then((token) => new ApiClient(this.state.apiUrl, token));
      this.clients.set(username, client);
    }
    return client;
  }

  async token(username: string): Promise<string> {
    const user = this.state.users.find((u) => u.username === username);
    if (!user) throw new Error(`no seeded user ${username}`);
    const { token } = await login({ endpoint: this.state.endpoint, userPoolClientId: this.state.userPoolClientId, username, password: user.password });
    return token;
  }

  /** Forgets a user's cached login (after their attributes changed). */
  relogin(username: string): void {
    this.clients.delete(username);
  }

  ledger(): Promise<LedgerEntry[]> {
    return this.ledgerSince(0);
  }

  /** The sealed log's entries after `seq`, oldest first, once the sequencer sealed everything appended so far. */
  async ledgerSince(seq: number): Promise<LedgerEntry[]> {
    await this.cloud.ledgerSettled();
    return new LedgerReader({ doc: this.doc, tableName: this.state.tables.ledger }).since(seq);
  }

  /** Appends an entry as a compromised role could, with the kernel's own writer and any actor it likes; its seq. */
  /** Appends a pending entry as `writer` would (in its own partition, all IAM lets it write), naming any actor; its pending id. */
  async appendPendingAs(writer: string, entry: LedgerEntryInput): Promise<number> {
    return (await new PendingLedgerWriter({ doc: this.doc, tableName: this.state.tables.ledger, writer }).append(entry)).seq;
  }

  outbox(): Promise<OutboxRecord[]> {
    return new Outbox(this.doc, this.state.tables.outbox).list();
  }

  /** Every body moved to each agent's dead-letter queue so far (read once: received messages stay hidden). */
  async deadLettered(): Promise<ReadonlyMap<string, string[]>> {
    await Promise.all(
      Object.entries(this.state.dlqs).map(async ([agent, url]) => {
        const bodies = this.deadLetters.get(agent) ?? [];
        this.deadLetters.set(agent, bodies);
        for (;;) {
          const out = await this.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 43_200, WaitTimeSeconds: 0 }));
          if (!out.Messages?.length) break;
          bodies.push(...out.Messages.map((m) => m.Body ?? ''));
        }
      }),
    );
    return this.deadLetters;
  }

  /** Waits until the ledger has not grown for `quietMs`: every agent is done with what was sent so far. */
  async quiesce(quietMs = 1000, timeoutMs = 60_000): Promise<void> {
    const reader = new LedgerReader({ doc: this.doc, tableName: this.state.tables.ledger });
    const deadline = Date.now() + timeoutMs;
    let last = (await reader.head())?.seq ?? 0;
    let since = Date.now();
    while (Date.now() - since < quietMs) {
      if (Date.now() > deadline) throw new Error(`the ledger kept growing for ${timeoutMs} ms`);
      await sleep(250);
      const head = (await reader.head())?.seq ?? 0;
      if (head !== last) [last, since] = [head, Date.now()];
    }
  }

  async stop(): Promise<void> {
    this.doc.destroy();
    this.sqs.destroy();
    this.kms.destroy();
    await this.cleanup();
  }
}

function instrument(client: Parameters<Parameters<typeof instrumentClients>[0]>[0], service: string, prefix: string, captured: CapturedMessage[]): void {
  if (service === 'dynamodb') {
    serializeConditionalPuts(client as DynamoDBClient, prefix);
    return;
  }
  if (service !== 'sqs') return;
  (client as SQSClient).middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageCommand') {
        const { QueueUrl, MessageBody } = args.input as { QueueUrl: string; MessageBody: string };
        const parsed = safeMessage(MessageBody);
        captured.push({ queueUrl: QueueUrl, body: MessageBody, ...(parsed ? { message: parsed } : {}) });
      }
      return next(args);
    },
    { step: 'initialize', name: 'redTeamCapture' },
  );
}

/** Tables whose conditional puts carry a security property: the chain's sequence, single use, at-most-once effects. */
const ATOMIC_TABLES: readonly TableName[] = ['ledger', 'nonces', 'outbox'];
let putQueue: Promise<unknown> = Promise.resolve();

/**
 * moto runs requests on threads without locking, so two conditional puts on one key can both succeed where
 * DynamoDB would refuse one. Sending this process's conditional puts to those tables one at a time restores
 * DynamoDB's guarantee (only there: serializing every put would make the run measure the queue, not the kernel).
 */
function serializeConditionalPuts(client: DynamoDBClient, prefix: string): void {
  const tables = new Set(ATOMIC_TABLES.map((t) => tableNameFor(prefix, t)));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { TableName?: string; ConditionExpression?: string };
      if (context.commandName !== 'PutItemCommand' || !input.ConditionExpression || !tables.has(input.TableName ?? '')) return next(args);
      const put = putQueue.then(() => next(args));
      putQueue = put.catch(() => undefined);
      return put;
    },
    { step: 'initialize', name: 'redTeamAtomicPuts' },
  );
}

function safeMessage(body: string): AgentMessage | undefined {
  try {
    const parsed = agentMessageSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
