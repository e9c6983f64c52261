import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsClientConfig } from '../../../functions/platform/aws-clients';
import { LedgerEntry } from '../../../functions/kernel/ledger/entry';
import { LedgerReader } from '../../../functions/kernel/ledger/ledger';
import { Outbox, OutboxRecord } from '../../../functions/stores/outbox';
import { Topology, parseTopology } from '../../../functions/kernel/topology/topology';
import { ApiClient, CommandRequestBody, CommandView, TERMINAL } from '../../../cli/api-client';
import { login } from '../../../localstack/cognito';
import { LocalCloud, startLocalCloud } from '../../../localstack/local-cloud';

export * from './direct-invocation';
export * from './fault-injector';
import { FaultInjector } from './fault-injector';
export * from './model-outage';

/**
 * The project topology with some runtime settings changed (short visibility timeouts make redelivery fast) and,
 * optionally, every agent's function timeout. AWS advises a visibility timeout of six times the function
 * timeout: a record whose invocation timed out must not come back while its idempotency record still says
 * "in progress" (that delivery is wasted, and the message nears its dead-letter queue).
 */
export function topologyWith(runtime: Record<string, number>, functionTimeoutSeconds?: number): Topology {
  const raw = JSON.parse(readFileSync(path.resolve(__dirname, '../../../agentsec.config.json'), 'utf8'));
  raw.runtime = { ...raw.runtime, ...runtime };
  if (functionTimeoutSeconds !== undefined) {
    for (const agent of Object.values(raw.agents) as Record<string, unknown>[]) agent.timeoutSeconds = functionTimeoutSeconds;
  }
  return parseTopology(raw);
}

export interface FaultCloudOptions {
  readonly topology?: Topology;
  readonly modelUrls?: Readonly<Record<string, string>>;
  /** Where to write the state file the CLI reads. @default none */
  readonly stateFile?: string;
}

/** A message found in a dead-letter queue. */
export interface DeadLetter {
  readonly agent: string;
  /** The SQS id it has in the DLQ (the same as on the source queue when SQS redrove it). */
  readonly sqsMessageId: string;
  /** The id of the source-queue message the agent copied it from, for a rejection. */
  readonly sourceMessageId?: string;
  readonly rejectedFor?: string;
  /** The agent message id the body claims, when it parses. */
  readonly claimedId?: string;
  readonly body: string;
}

/**
 * A local cloud for fault tests, on the test emulator: the users' API clients, the ledger, the outbox, the
 * dead-letter queues, and every line the event sources and handlers logged.
 */
export class FaultCloud {
  private readonly clients = new Map<string, ApiClient>();

  private constructor(
    readonly cloud: LocalCloud,
    readonly doc: DynamoDBDocumentClient,
    readonly sqs: SQSClient,
    /** Lines the event sources and handlers reported (invocation failures, receive errors). */
    readonly logs: string[],
  ) {}

  static async start(options: FaultCloudOptions = {}): Promise<FaultCloud> {
    const logs: string[] = [];
    const line = (...args: unknown[]) => logs.push(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).join(' '));
    const cloud = await startLocalCloud({
      prefix: `f${randomUUID().slice(0, 8)}`,
      stateFile: options.stateFile ?? false,
      topology: options.topology,
      modelUrls: options.modelUrls,
      logger: { error: line, warn: line },
    });
    const config = awsClientConfig({ endpoint: cloud.state.endpoint });
    return new FaultCloud(cloud, DynamoDBDocumentClient.from(new DynamoDBClient(config)), new SQSClient(config), logs);
  }

  get state() {
    return this.cloud.state;
  }

  async as(username: string): Promise<ApiClient> {
    const known = this.clients.get(username);
    if (known) return known;
    const user = this.state.users.find((u) => u.username === username)!;
    const { token } = await login({ endpoint: this.state.endpoint, userPoolClientId: this.state.userPoolClientId, username, password: user.password });
    const client = new ApiClient(this.state.apiUrl, token);
    this.clients.set(username, client);
    return client;
  }

  /** Submits a command as `username`; the command id when the API accepted it (202). */
  async submit(username: string, body: CommandRequestBody): Promise<string> {
    return (await (await this.as(username)).submit(body)).commandId;
  }

  /** The sealed log, once the sequencer sealed everything appended so far. */
  async ledger(): Promise<LedgerEntry[]> {
    await this.cloud.ledgerSettled();
    return new LedgerReader({ doc: this.doc, tableName: this.state.tables.ledger }).readAll();
  }

  outbox(): Promise<OutboxRecord[]> {
    return new Outbox(this.doc, this.state.tables.outbox).list();
  }

  /** Waits until no failed queue holds a message (each is accounted for and moved to its DLQ), for up to `timeoutMs`. */
  async settleFailedQueues(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = async () => {
      let n = 0;
      for (const url of Object.values(this.state.failedQueues)) {
        const { Attributes: a } = await this.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
        );
        n += Number(a?.ApproximateNumberOfMessages ?? 0) + Number(a?.ApproximateNumberOfMessagesNotVisible ?? 0);
      }
      return n;
    };
    while ((await pending()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  }

  /** Receives and deletes everything in every dead-letter queue, once the failed queues have been accounted for. */
  async drainDeadLetters(): Promise<DeadLetter[]> {
    await this.settleFailedQueues();
    const found: DeadLetter[] = [];
    for (const [agent, url] of Object.entries(this.state.dlqs)) {
      for (;;) {
        const out = await this.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60, MessageAttributeNames: ['All'] }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) break;
        for (const m of messages) {
          found.push({
            agent,
            sqsMessageId: m.MessageId!,
            sourceMessageId: m.MessageAttributes?.sqsMessageId?.StringValue,
            rejectedFor: m.MessageAttributes?.rejectedFor?.StringValue,
            claimedId: claimedIdOf(m.Body ?? ''),
            body: m.Body ?? '',
          });
        }
        await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
    }
    return found;
  }

  async stop(): Promise<void> {
    this.doc.destroy();
    this.sqs.destroy();
    await this.cloud.stop();
  }
}

function claimedIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One suite's fault injector and fault cloud: installed and started before its tests, removed and stopped after.
 * Read `faults` and `cloud` inside tests (they exist once `beforeAll` has run).
 */
export function faultSuite(topology: Topology, injector: Parameters<typeof FaultInjector.install>[0] = {}): { faults: FaultInjector; cloud: FaultCloud } {
  const suite = {} as { faults: FaultInjector; cloud: FaultCloud };
  beforeAll(async () => {
    suite.faults = FaultInjector.install(injector);
    suite.cloud = await FaultCloud.start({ topology });
  });
  afterAll(async () => {
    suite.faults?.uninstall();
    await suite.cloud?.stop();
  });
  return suite;
}

/** When each command was first seen terminal, polling only the unfinished ones. */
export async function waitForTerminal(
  cloud: FaultCloud,
  owners: ReadonlyMap<string, string>,
  timeoutMs: number,
): Promise<Map<string, { view: CommandView; seenAt: number }>> {
  const done = new Map<string, { view: CommandView; seenAt: number }>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < owners.size && Date.now() < deadline) {
    const open = [...owners].filter(([id]) => !done.has(id));
    for (let i = 0; i < open.length; i += 20) {
      await Promise.all(
        open.slice(i, i + 20).map(async ([id, owner]) => {
          const view = await (await cloud.as(owner)).command(id);
          if (TERMINAL.has(view.status)) done.set(id, { view, seenAt: Date.now() });
        }),
      );
    }
    if (done.size < owners.size) await new Promise((r) => setTimeout(r, 500));
  }
  return done;
}

/** What became of some commands: statuses once they ended (or the time allowed ran out) and their effects. */
export interface Outcome {
  /** Status by command id; commands not terminal within the time allowed show their last status. */
  readonly statuses: Record<string, string>;
  readonly nonTerminal: string[];
  /** Side effects (outbox records with a payload) of these commands. */
  readonly effects: OutboxRecord[];
  /** Side effects recorded more than once for one command, agent and tool (each test command asks for each tool once). */
  readonly duplicateEffects: OutboxRecord[][];
  readonly ledger: LedgerEntry[];
}

/** The accounting of a run: what the properties of the fault suite are checked against. */
export interface Accounting extends Outcome {
  readonly deadLetters: DeadLetter[];
  /** Dead letters no ledger entry accounts for. */
  readonly unledgered: DeadLetter[];
  readonly verify: { ok: boolean; entries: number; firstBadSeq: number | null; reason?: string };
}

/** Waits for every command to end, then collects their statuses and side effects. */
export async function outcomeOf(cloud: FaultCloud, owners: ReadonlyMap<string, string>, timeoutMs = 60_000): Promise<Outcome> {
  const terminal = await waitForTerminal(cloud, owners, timeoutMs);
  const statuses: Record<string, string> = {};
  for (const [id, owner] of owners) {
    statuses[id] = terminal.get(id)?.view.status ?? (await (await cloud.as(owner)).command(id)).status;
  }
  const nonTerminal = Object.entries(statuses).filter(([, s]) => !TERMINAL.has(s)).map(([id]) => id);
  const effects = (await cloud.outbox()).filter((e) => owners.has(e.commandId) && e.payload !== null);
  const groups = new Map<string, OutboxRecord[]>();
  for (const e of effects) {
    const key = `${e.commandId}|${e.agent}|${e.tool}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  return { statuses, nonTerminal, effects, duplicateEffects: [...groups.values()].filter((g) => g.length > 1), ledger: await cloud.ledger() };
}

/** Drains every dead-letter queue, matches each dead letter to its ledger entry, and verifies the chain. */
export async function deadLetterAccounting(cloud: FaultCloud): Promise<Pick<Accounting, 'deadLetters' | 'unledgered' | 'verify'>> {
  const deadLetters = await cloud.drainDeadLetters();
  const ledger = await cloud.ledger();
  const unledgered = deadLetters.filter((d) => !ledgerAccountsFor(ledger, d));
  const verify = await (await cloud.as('alice')).verifyAudit();
  return { deadLetters, unledgered, verify };
}

/** Both: what became of the commands, and what reached the dead-letter queues. */
export async function account(cloud: FaultCloud, owners: ReadonlyMap<string, string>, timeoutMs = 60_000): Promise<Accounting> {
  const outcome = await outcomeOf(cloud, owners, timeoutMs);
  return { ...outcome, ...(await deadLetterAccounting(cloud)), ledger: await cloud.ledger() };
}

/** A dead letter is accounted for by the ledger entry that names its SQS message (rejection or final failure). */
function ledgerAccountsFor(ledger: readonly LedgerEntry[], d: DeadLetter): boolean {
  const ids = new Set([d.sqsMessageId, d.sourceMessageId].filter(Boolean));
  return ledger.some((e) => typeof e.detail?.sqsMessageId === 'string' && ids.has(e.detail.sqsMessageId));
}

/** One line for the test log. */
export function describeAccounting(a: Accounting): string {
  const count = (s: string) => Object.values(a.statuses).filter((x) => x === s).length;
  return (
    `commands ${Object.keys(a.statuses).length}: completed ${count('completed')}, failed ${count('failed')}, denied ${count('denied')}, ` +
    `not terminal ${a.nonTerminal.length}; effects ${a.effects.length} (duplicated ${a.duplicateEffects.length}); ` +
    `dead letters ${a.deadLetters.length} (unledgered ${a.unledgered.length}); ledger ${a.verify.ok ? 'verifies' : `BROKEN at ${a.verify.firstBadSeq}`} (${a.verify.entries} entries)`
  );
}
