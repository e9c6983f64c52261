import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CoreAgent } from '../functions/agents/core';
import { EffectorAgent } from '../functions/agents/effector';
import { createAgentHandler } from '../functions/handlers/agent-lambda';
import { createApiContext } from '../functions/api/context';
import { createApiHandler } from '../functions/handlers/api';
import { signerFromEnvironment } from '../functions/handlers/signer';
import { awsClientConfig, createAwsClients } from '../functions/platform/aws-clients';
import { SEQUENCER_BATCH, handleLedgerStream, sequencerFromEnvironment } from '../functions/handlers/sequencer';
import { LedgerReader } from '../functions/kernel/ledger/ledger';
import { KERNEL_AGENT } from '../functions/kernel/flow/edges';
import { InProcessSignerClient, SignerClient } from '../functions/signer/signer-client';
import { EffectGatewayTransport, InProcessEffectGateway } from '../functions/effects/client';
import { MailboxFileSender, MemorySender } from '../functions/effects/senders';
import { effectGatewayFromEnvironment } from '../functions/handlers/effects';
import { Topology, loadTopology } from '../functions/kernel/topology/topology';
import { localStateFile } from './state-files';
import { createTokenVerifier } from './cognito';
import { Emulator, startEmulator } from './emulator';
import { HttpApi, HttpApiHandler, startHttpApi } from './http-api';
import { startConsoleServer } from './console-server';
import { LocalResources, ProvisionedResources, readLocalState, writeLocalState } from './local-state';
import { ModelServer, startModelServer } from '../model-server/server';
import { environmentFor, provisionLocalCloud } from './provision';
import { SqsEventSource, SqsEventSourceHealth } from './sqs-event-source';
import { DynamoDbStreamSource, StreamSourceCounters } from './dynamodb-stream-source';
import { streamArnOf } from './provision-tables';

export interface LocalCloudOptions {
  /** Names every resource; starting again with the same prefix on the same emulator reuses them. @default 'agentsec' */
  readonly prefix?: string;
  /** Agents' models obey every injection they read (`AGENTSEC_MODEL_MODE=compromised`). @default false */
  readonly compromised?: boolean;
  /** Progress lines while starting and stopping. @default none */
  readonly log?: (line: string) => void;
  /** Where the state is written (mode 0600); `false` writes none. @default `.agentsec/local.json` */
  readonly stateFile?: string | false;
  /** @default loadTopology() */
  readonly topology?: Topology;
  /** Where handler invocation failures are reported. @default console */
  readonly logger?: Pick<Console, 'error' | 'warn'>;
  /** Level of the handlers' structured logs (`POWERTOOLS_LOG_LEVEL`). @default the environment's, else WARN */
  readonly logLevel?: string;
  /** Base URL by model endpoint name, over the endpoint's URL variable. @default the variable, else the offline model */
  readonly modelUrls?: Readonly<Record<string, string>>;
  /**
   * How often the signer is asked for a ledger checkpoint; it signs one when `checkpointEvery` entries are new
   * (the schedule that EventBridge runs on AWS).
   * @default 5000
   */
  readonly checkpointIntervalMs?: number;
  /** How long one checkpoint call may take before the schedule gives up on it and goes on. @default 30000 */
  readonly checkpointTimeoutMs?: number;
}

export interface LocalCloud {
  /** What `.agentsec/local.json` holds. */
  readonly state: LocalResources;
  /** The offline model every endpoint without its own URL variable points at (its `requests` show what each was shown). */
  readonly model: ModelServer;
  /**
   * Whether each agent's event source reaches its queue (failed polls, the problem in one line): a lost or
   * restarted emulator shows here and in the logger, never as a silent stall.
   */
  health(): Record<string, SqsEventSourceHealth & { readonly pollErrors: number }>;
  /**
   * Resolves once the sequencer has sealed every ledger entry appended before the call (and asked for a tree head
   * over it): what tests and tools wait for before they read the sealed log.
   */
  ledgerSettled(timeoutMs?: number): Promise<void>;
  /** The sequencer's stream counters (batches, records, failures). */
  readonly sequencer: StreamSourceCounters;
  /** Stops the event sources, the servers and the emulator this process started. Idempotent. */
  stop(): Promise<void>;
}

/** The signer's name in handler environments (a Lambda function name on AWS). */
const SIGNER_FUNCTION = 'signer';
/** How long the schedule waits for one checkpoint call by default: the signer function's timeout on AWS. */
const CHECKPOINT_TIMEOUT_MS = 30_000;
/** Batches of failed messages accounted for at once per agent: rare, and each is a few writes. */
const FAILED_QUEUE_CONCURRENCY = 2;

/**
 * The one-machine cloud (DESIGN §9): the emulator, every resource of the topology, the offline model, one SQS
 * event source per agent running its handler in this process, the signer in-process behind the same
 * `SignerClient` interface, the HTTP API behind the Cognito authorizer, and the operator console. Writes the state
 * file the CLI reads.
 *
 * @example
 * const cloud = await startLocalCloud({ log: console.log });
 * // ... agentsec login / ask against cloud.state.apiUrl
 * await cloud.stop();
 */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const log = options.log ?? (() => undefined);
  const topology = options.topology ?? loadTopology();
  const stateFile = options.stateFile === undefined ? localStateFile() : options.stateFile;
  const stack = new Shutdown(log);
  try {
    const emulator = await startEmulator({ log });
    stack.push(() => emulator.stop());
    log(emulator.owned ? `emulator: moto server on ${emulator.endpoint}` : `emulator: using ${emulator.endpoint}`);
    // The kernel's AWS clients read the endpoint from the process environment (functions/platform/aws-clients.ts).
    stack.push(pointProcessAt(emulator));
    // Powertools reads its settings from the process environment too, and the functions run in this process.
    const powertools = powertoolsEnvironment(options.logLevel);
    stack.push(setProcessEnvironment(powertools));

    const resources = await provisionLocalCloud({
      endpoint: emulator.endpoint,
      topology,
      prefix: options.prefix ?? 'agentsec',
      passwords: stateFile ? previousPasswords(stateFile) : undefined,
    });
    log(
      `provisioned: ${Object.keys(resources.keys).length} level keys and the authority key, ${Object.keys(resources.queues).length} queues with failed queues and DLQs, ` +
        `${Object.keys(resources.tables).length} tables, user pool ${resources.userPoolId} with ${resources.users.length} users`,
    );

    const model = await startModelServer({ mode: 'honest' });
    stack.push(() => model.stop());
    log(`offline model: ${model.url}${options.compromised ? ' (agents ask it to be compromised)' : ''}`);

    // The console first: its origin is the API's CORS origin and the passkeys' WebAuthn origin (rpId `localhost`).
    const operatorConsole = await startConsoleServer();
    stack.push(() => operatorConsole.close());
    const consoleEnv = { AGENTSEC_CONSOLE_ORIGIN: operatorConsole.url };

    const agentEnv = {
      ...modelEnvironment(topology, model.url, options.modelUrls ?? {}),
      ...powertools,
      ...(process.env.AGENTSEC_CONFIG ? { AGENTSEC_CONFIG: process.env.AGENTSEC_CONFIG } : {}),
      ...(options.compromised ? { AGENTSEC_MODEL_MODE: 'compromised' } : {}),
    };
    const signer = inProcessSigner(resources, topology, { ...agentEnv, ...consoleEnv });
    // Effects go out to a mailbox file beside the state file (or stay in memory without one).
    const effects = inProcessEffectGateway(resources, topology, stateFile ? mailboxFileOf(stateFile) : undefined);
    const checkpoints = checkpointSchedule(signer, {
      intervalMs: options.checkpointIntervalMs ?? 5000,
      timeoutMs: options.checkpointTimeoutMs ?? CHECKPOINT_TIMEOUT_MS,
      logger: options.logger ?? console,
    });
    stack.push(() => checkpoints.stop());

    // The sequencer (DESIGN §7) seals what every writer appends as pending; started before the writers, stopped after them.
    const sequencer = await startSequencer(resources, signer, options.logger ?? console);
    stack.push(() => sequencer.stop());

    const sqs = new SQSClient(awsClientConfig({ endpoint: emulator.endpoint, region: resources.region }));
    stack.push(async () => sqs.destroy());
    const sources = topology.agentNames().map((name) => agentEventSources(name, { topology, resources, sqs, signer, effects, agentEnv, logger: options.logger }));
    const all = sources.flat();
    await Promise.all(all.map((s) => s.start()));
    stack.push(async () => void (await Promise.all(all.map((s) => s.stop()))));
    log(`agents: ${topology.agentNames().join(', ')} polling their queues`);

    const api = await startApi(resources, topology, signer, { env: consoleEnv, corsOrigins: [operatorConsole.url], logger: options.logger });
    stack.push(() => api.close());
    log(`HTTP API: ${api.url}`);
    operatorConsole.configure({ apiUrl: api.url, region: resources.region, userPoolClientId: resources.userPoolClientId, cognitoEndpoint: resources.endpoint });
    log(`console: ${operatorConsole.url}`);

    const state: LocalResources = { ...resources, apiUrl: api.url, modelUrl: model.url, consoleUrl: operatorConsole.url };
    if (stateFile) {
      writeLocalState(stateFile, state);
      log(`wrote ${stateFile}`);
    }
    const health = () => Object.fromEntries(sources.map(([s], i) => [topology.agentNames()[i], { ...s.health, pollErrors: s.counters.pollErrors }]));
    return { state, model, health, ledgerSettled: (timeoutMs) => sequencer.settled(timeoutMs), sequencer: sequencer.counters, stop: () => stack.unwind() };
  } catch (err) {
    await stack.unwind();
    throw err;
  }
}

/** Passwords of the users of an earlier run, so a restarted cloud keeps them. */
function previousPasswords(stateFile: string): Record<string, string> | undefined {
  if (!existsSync(stateFile)) return undefined;
  try {
    return Object.fromEntries(readLocalState(stateFile).users.map((u) => [u.username, u.password]));
  } catch {
    return undefined; // an unreadable old state only costs fresh passwords
  }
}

/** Points every kernel AWS client of this process at the emulator; returns the undo. */
function pointProcessAt(emulator: Emulator): () => Promise<void> {
  return setProcessEnvironment({ AGENTSEC_AWS_ENDPOINT: emulator.endpoint, AWS_REGION: process.env.AWS_REGION ?? 'us-east-1' });
}

/**
 * Powertools for the functions on one machine: metrics are not written (their embedded-metric JSON would fill stdout),
 * tracing is off (there is no X-Ray daemon), and logs are at `logLevel`. A variable already set in this process wins
 * for metrics and tracing (`POWERTOOLS_METRICS_DISABLED=false agentsec dev` shows the metrics).
 */
function powertoolsEnvironment(logLevel: string | undefined): Record<string, string> {
  return {
    POWERTOOLS_LOG_LEVEL: logLevel ?? process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    POWERTOOLS_TRACE_ENABLED: process.env.POWERTOOLS_TRACE_ENABLED ?? 'false',
  };
}

/** Sets `vars` in this process's environment; returns the undo. */
function setProcessEnvironment(vars: Record<string, string>): () => Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/**
 * Model endpoint variables for the agents: a URL given for the endpoint, else its URL variable when set (a real
 * provider, a local Ollama), else the offline model. API keys pass through from this process.
 */
function modelEnvironment(topology: Topology, offlineUrl: string, given: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const endpoint of topology.modelEndpoints.values()) {
    if (endpoint.baseUrlEnv) env[endpoint.baseUrlEnv] = given[endpoint.name] || process.env[endpoint.baseUrlEnv] || offlineUrl;
    const key = endpoint.apiKeyEnv && process.env[endpoint.apiKeyEnv];
    if (endpoint.apiKeyEnv && key) env[endpoint.apiKeyEnv] = key;
  }
  return env;
}

/**
 * The sequencer, in this process, behind the ledger table's stream. A reused table's stream is read from its start,
 * so the sequencer first learns what the sealed log already holds.
 */
async function startSequencer(resources: ProvisionedResources, signer: SignerClient, logger: Pick<Console, 'error' | 'warn'>): Promise<DynamoDbStreamSource> {
  const config = awsClientConfig({ endpoint: resources.endpoint, region: resources.region });
  const env = environmentFor(resources, { sendsTo: [] });
  const fn = sequencerFromEnvironment(env, signer);
  const { doc } = createAwsClients(config);
  fn.sequencer.remember(await new LedgerReader({ doc, tableName: resources.tables.ledger }).readAll());
  const dynamo = new DynamoDBClient(config);
  const source = new DynamoDbStreamSource({
    streams: new DynamoDBStreamsClient(config),
    streamArn: await streamArnOf(dynamo, resources.tables.ledger),
    handler: (event) => handleLedgerStream(event, fn),
    // Entries that arrive together are sealed, and their tree head signed, in one batch; whoever waits for the ledger
    // to settle (`ledgerSettled`) ends the window at once.
    batchSize: SEQUENCER_BATCH.size,
    batchingWindowMs: SEQUENCER_BATCH.localWindowMs,
    logger,
  });
  dynamo.destroy();
  await source.start();
  return source;
}

/** The signer, in this process; it sends approved directives to the agent that asked, so it knows every agent's queue. */
function inProcessSigner(resources: ProvisionedResources, topology: Topology, extra: Record<string, string>): SignerClient {
  const env = { ...extra, ...environmentFor(resources, { sendsTo: topology.agentNames() }) };
  return new InProcessSignerClient(signerFromEnvironment(env, topology));
}

/** The effect gateway, in this process: the only writer of the outbox; it dispatches to `mailbox` (a file) or to memory. */
function inProcessEffectGateway(resources: ProvisionedResources, topology: Topology, mailbox: string | undefined): EffectGatewayTransport {
  const env = environmentFor(resources, { sendsTo: [] });
  return new InProcessEffectGateway(effectGatewayFromEnvironment(env, topology, mailbox ? new MailboxFileSender(mailbox) : new MemorySender()));
}

/** `.agentsec/mailbox.jsonl`: one line per effect the local cloud dispatched (the email sent, the booking made). */
export function mailboxFileOf(stateFile: string): string {
  return path.join(path.dirname(stateFile), 'mailbox.jsonl');
}

/**
 * Asks the signer for a checkpoint every `intervalMs` (DESIGN §7: every N entries), one call at a time; a call
 * that has not answered within `timeoutMs` is given up, as Lambda ends an invocation at its timeout, and the
 * schedule goes on. `stop` waits for a call in flight, so nothing touches the emulator after shutdown.
 */
function checkpointSchedule(
  signer: SignerClient,
  { intervalMs, timeoutMs, logger }: { intervalMs: number; timeoutMs: number; logger: Pick<Console, 'warn'> },
): { stop(): Promise<void> } {
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    let limit: NodeJS.Timeout | undefined;
    // A call that never returns ends at the signer's timeout, as a Lambda invocation would; the schedule goes on.
    const timedOut = new Promise<never>((_, reject) => {
      limit = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref();
    });
    inFlight = Promise.race([signer.checkpoint(), timedOut])
      .then(
        () => undefined,
        (err: unknown) => logger.warn(`ledger checkpoint failed: ${(err as Error).message}`),
      )
      .finally(() => {
        clearTimeout(limit);
        if (!stopped) timer = setTimeout(tick, intervalMs).unref();
      });
  };
  timer = setTimeout(tick, intervalMs).unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}

interface AgentSourceProps {
  readonly topology: Topology;
  readonly resources: ProvisionedResources;
  readonly sqs: SQSClient;
  readonly signer: SignerClient;
  readonly effects: EffectGatewayTransport;
  readonly agentEnv: Record<string, string>;
  readonly logger?: Pick<Console, 'error' | 'warn'>;
}

/**
 * One agent's function behind its queue, with the batch size, concurrency and timeouts the topology gives it,
 * and the same function behind its failed queue (messages whose deliveries are exhausted, to account for).
 */
function agentEventSources(name: string, props: AgentSourceProps): SqsEventSource[] {
  const { topology, resources } = props;
  const agent = topology.agent(name);
  const env = {
    ...props.agentEnv,
    // Send rights follow the topology's edges (DESIGN §3): the handler learns only the queues it may use.
    ...environmentFor(resources, { agent: name, sendsTo: agent.sendsTo, signerFunction: SIGNER_FUNCTION }),
  };
  const Agent = name === KERNEL_AGENT ? CoreAgent : EffectorAgent;
  const handler = createAgentHandler(Agent, { env, topology, signer: () => props.signer, effects: () => props.effects });
  const visibility = topology.runtime.visibilityTimeoutSeconds;
  const source = (queueUrl: string, batchSize: number, maxConcurrency: number) =>
    new SqsEventSource({
      sqs: props.sqs,
      queueUrl,
      functionName: name,
      handler,
      batchSize,
      maxConcurrency,
      visibilityTimeoutSeconds: visibility,
      timeoutSeconds: Math.min(agent.timeoutSeconds, visibility),
      memoryMiB: agent.memoryMiB,
      ...(props.logger ? { logger: props.logger } : {}),
    });
  return [source(resources.queues[name], agent.batchSize, agent.maxConcurrency), source(resources.failedQueues[name], 1, FAILED_QUEUE_CONCURRENCY)];
}

/**
 * The API function behind the Cognito JWT authorizer; it sends commands only to the kernel agent, and answers
 * browsers on the console's origin alone (CORS).
 */
async function startApi(
  resources: ProvisionedResources,
  topology: Topology,
  signer: SignerClient,
  { env: extra, corsOrigins, logger }: { env: Record<string, string>; corsOrigins: readonly string[]; logger?: Pick<Console, 'error'> },
): Promise<HttpApi> {
  const env = { ...extra, ...environmentFor(resources, { sendsTo: [KERNEL_AGENT], signerFunction: SIGNER_FUNCTION }) };
  const ctx = createApiContext({ env, topology, signer: () => signer });
  const handler = createApiHandler(() => ctx) as unknown as HttpApiHandler;
  const verifier = createTokenVerifier({ endpoint: resources.endpoint, userPoolId: resources.userPoolId, userPoolClientId: resources.userPoolClientId });
  return startHttpApi({ handler, verifier, region: resources.region, functionName: 'api', corsOrigins, ...(logger ? { logger } : {}) });
}

/** Longest one undo step may take: a call that never returns (a hung request, a dead emulator) must not hold up the rest. */
const STEP_TIMEOUT_MS = 15_000;

/** Undo steps, run newest first; a failing or hanging step does not keep the others from running. */
class Shutdown {
  private steps: Array<() => Promise<void>> = [];

  constructor(private readonly log: (line: string) => void) {}

  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  async unwind(): Promise<void> {
    const steps = this.steps.reverse();
    this.steps = [];
    for (const step of steps) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STEP_TIMEOUT_MS).unref()));
      try {
        if ((await Promise.race([step().then(() => 'done' as const), late])) === 'late') {
          this.log(`while stopping: a step did not finish within ${STEP_TIMEOUT_MS / 1000} s; going on`);
        }
      } catch (err) {
        this.log(`while stopping: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
