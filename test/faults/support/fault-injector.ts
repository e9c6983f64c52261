import { KMSServiceException } from '@aws-sdk/client-kms';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { SQSServiceException } from '@aws-sdk/client-sqs';
import { InstrumentableClient, instrumentClients } from '../../../functions/platform/aws-clients';

/**
 * Faults the emulator cannot produce, injected as SDK middleware into every kernel client created while the
 * injector is installed (`instrumentClients`). Throttling errors carry the SDK's own shape (`name`, `$fault`,
 * `$retryable`, `$metadata`), so the SDK's retry strategy treats them exactly as it treats AWS's; a crash is a
 * non-retryable error; a hang never answers (the invocation is killed by its timeout, like a dead container);
 * a delay answers late.
 */

export type Service = 'kms' | 'sqs' | 'dynamodb';
export type FaultKind = 'throttle' | 'crash' | 'hang' | 'delay';

/** Which function made a call: an agent's name, `signer`, `api`, or `other`. */
export type Origin = string;

/** One SDK call attempt as the injector sees it. */
export interface AwsCall {
  readonly service: Service;
  /** `Decrypt`, `PutItem`, `SendMessage`... */
  readonly operation: string;
  /** The command input; DynamoDB items are marshalled (`{S: ...}`), see {@link attribute}. */
  readonly input: Record<string, unknown>;
  readonly origin: Origin;
}

export interface FaultRule {
  /** Names the rule in the counts. */
  readonly name: string;
  readonly fault: FaultKind;
  readonly service: Service;
  /** @default every operation */
  readonly operations?: readonly string[];
  /** @default every origin */
  readonly origins?: readonly Origin[];
  readonly when?: (call: AwsCall) => boolean;
  /** Fault the first `first` matching attempts. Without `first`, `nth` or `rate`: every matching attempt. */
  readonly first?: number;
  /** Fault only the `nth` matching attempt (1-based). */
  readonly nth?: number;
  /** Fault this fraction of matching attempts (seeded, reproducible). */
  readonly rate?: number;
  /** `after`: the request reaches the emulator and then the fault hits (the write happened, the caller never learns). @default 'before' */
  readonly at?: 'before' | 'after';
  /** How long a `delay` holds the call. @default 1000 */
  readonly delayMs?: number;
}

/** What happened to the calls while installed. Attempts include the SDK's own retries. */
export interface FaultStats {
  /** Attempts by `service:Operation`. */
  readonly attempts: Record<string, number>;
  /** Faults injected, by rule name. */
  readonly injected: Record<string, number>;
  /** Calls that succeeded after at least one retry (the SDK absorbed the faults). */
  absorbed: number;
  /** Calls that failed after the SDK's retries (the fault reached the handler). */
  surfaced: number;
}

/** A DynamoDB attribute of a marshalled or plain item: `attribute(input.Item, 'type')`. */
export function attribute(item: unknown, name: string): string | undefined {
  const v = (item as Record<string, unknown> | undefined)?.[name];
  if (typeof v === 'string') return v;
  const m = v as { S?: string; N?: string } | undefined;
  return m?.S ?? m?.N;
}

/** True for a ledger append of an entry of `type` (by `actor`, for `commandId`, with `detail` when given). */
export const ledgerAppend =
  (type: string, only: { actor?: string; commandId?: string; detail?: (d: Record<string, unknown>) => boolean } = {}) =>
  (call: AwsCall): boolean => {
    const item = call.input.Item as Record<string, unknown> | undefined;
    if (call.operation !== 'PutItem' || attribute(item, 'chain') === undefined || attribute(item, 'type') !== type) return false;
    if (only.actor !== undefined && attribute(item, 'actor') !== only.actor) return false;
    if (only.commandId !== undefined && attribute(item, 'commandId') !== only.commandId) return false;
    return only.detail ? only.detail(plainMap(item?.detail)) : true;
  };

/** True for the write of a side effect to the outbox for `commandId`. */
export const outboxWrite =
  (commandId: string) =>
  (call: AwsCall): boolean =>
    call.operation === 'PutItem' && attribute(call.input.Item, 'effectId') !== undefined && attribute(call.input.Item, 'commandId') === commandId;

/** True for the consumption of an agent message id (the receive pipeline's single-use record). */
export const consuming =
  (messageId: string) =>
  (call: AwsCall): boolean =>
    attribute(call.input.Item, 'nonce')?.endsWith(`#message#${messageId}`) === true;

function plainMap(value: unknown): Record<string, unknown> {
  const m = (value as { M?: Record<string, { S?: string; N?: string; BOOL?: boolean }> } | undefined)?.M;
  if (!m) return (value as Record<string, unknown>) ?? {};
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.S ?? v.N ?? v.BOOL]));
}

/** A small seeded PRNG (mulberry32), so a rate-based run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const metadata = () => ({ httpStatusCode: 400, requestId: `injected-${Math.random().toString(36).slice(2)}`, attempts: 1, totalRetryDelay: 0 });

/** The error AWS would answer when throttling this service, shaped as the SDK deserializes it. */
export function throttlingError(service: Service): Error {
  const message = 'Rate exceeded (injected)';
  const err =
    service === 'dynamodb'
      ? new ProvisionedThroughputExceededException({ message, $metadata: metadata() })
      : service === 'kms'
        ? new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', message, $metadata: metadata() })
        : new SQSServiceException({ name: 'RequestThrottled', $fault: 'client', message, $metadata: metadata() });
  Object.assign(err, { $retryable: { throttling: true } });
  return err;
}

/** A crash at this point of the handler: not retryable by the SDK, not a security refusal. */
export class InjectedCrash extends Error {
  readonly $fault = 'client';
  readonly $metadata = metadata();
  constructor(operation: string) {
    super(`injected crash in ${operation}: the function died here`);
    this.name = 'InjectedCrash';
  }
}

const never = <T>() => new Promise<T>(() => undefined);

/** Which function built a client, from the call stack at construction (test-only attribution). */
function originOfConstruction(): 'agent' | 'signer' | 'api' | 'effects' | 'other' {
  const stack = new Error().stack ?? '';
  if (stack.includes('effectGatewayFromEnvironment')) return 'effects';
  if (stack.includes('createAgentContext')) return 'agent';
  if (stack.includes('signerFromEnvironment')) return 'signer';
  if (stack.includes('createApiContext')) return 'api';
  return 'other';
}

/**
 * Installs fault middleware into every kernel client created from now on.
 *
 * @example
 * const faults = FaultInjector.install({ agentOrder: topology.agentNames() });
 * faults.add({ name: 'kms', fault: 'throttle', service: 'kms', operations: ['Decrypt'], first: 3 });
 * // ... start the local cloud, run commands ...
 * faults.uninstall();
 */
export class FaultInjector {
  readonly stats: FaultStats = { attempts: {}, injected: {}, absorbed: 0, surfaced: 0 };
  private rules: FaultRule[] = [];
  private readonly matched = new Map<string, number>();
  private readonly random: () => number;
  private readonly agentOrder: readonly string[];
  private agentClients = 0;
  private readonly remove: () => void;
  private static installed = 0;
  private readonly id = (FaultInjector.installed += 1);

  private constructor(options: { seed?: number; agentOrder?: readonly string[] }) {
    this.random = prng(options.seed ?? 1);
    this.agentOrder = options.agentOrder ?? [];
    this.remove = instrumentClients((client, service) => this.instrument(client, service));
  }

  /**
   * @param agentOrder the order in which agent contexts are created (the local cloud creates them in
   *   `topology.agentNames()` order), to name each agent's calls; unnamed agents are `agent`.
   */
  static install(options: { seed?: number; agentOrder?: readonly string[] } = {}): FaultInjector {
    return new FaultInjector(options);
  }

  add(...rules: FaultRule[]): this {
    this.rules.push(...rules);
    return this;
  }

  /** Removes every rule (clients keep the middleware, which then passes everything through). */
  clear(): void {
    this.rules = [];
  }

  uninstall(): void {
    this.clear();
    this.remove();
  }

  injected(rule?: string): number {
    if (rule !== undefined) return this.stats.injected[rule] ?? 0;
    return Object.values(this.stats.injected).reduce((a, b) => a + b, 0);
  }

  private instrument(client: InstrumentableClient, service: Service): void {
    let origin: Origin = originOfConstruction();
    if (origin === 'agent') {
      // createAwsClients instruments kms, sqs, dynamodb in that order: one agent per three clients.
      origin = this.agentOrder[Math.floor(this.agentClients / 3)] ?? 'agent';
      this.agentClients += 1;
    }
    const stack = client.middlewareStack as unknown as {
      add: (mw: unknown, options: Record<string, unknown>) => void;
    };
    // Below the retry middleware (finalizeRequest): every attempt passes here, and the SDK retries what we throw.
    stack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: { input?: Record<string, unknown> }) => {
        const operation = String(context.commandName ?? '').replace(/Command$/, '');
        const call: AwsCall = { service, operation, input: args.input ?? {}, origin };
        const key = `${service}:${operation}`;
        this.stats.attempts[key] = (this.stats.attempts[key] ?? 0) + 1;
        const rule = this.ruleFor(call);
        if (!rule) return next(args);
        this.stats.injected[rule.name] = (this.stats.injected[rule.name] ?? 0) + 1;
        if (rule.fault === 'delay') {
          await new Promise((r) => setTimeout(r, rule.delayMs ?? 1000));
          return next(args);
        }
        if (rule.at === 'after') await next(args);
        if (rule.fault === 'hang') return never();
        throw rule.fault === 'throttle' ? throttlingError(service) : new InjectedCrash(operation);
      },
      { step: 'deserialize', name: `agentsecFaultInjection${this.id}`, priority: 'high' },
    );
    // Above the retry middleware: how each call ended after the SDK's retries.
    stack.add(
      (next: (args: unknown) => Promise<{ output?: { $metadata?: { attempts?: number } } }>) => async (args: unknown) => {
        try {
          const out = await next(args);
          if ((out.output?.$metadata?.attempts ?? 1) > 1) this.stats.absorbed += 1;
          return out;
        } catch (err) {
          if ((err as Error).name === 'InjectedCrash' || (err as { $retryable?: unknown }).$retryable) this.stats.surfaced += 1;
          throw err;
        }
      },
      { step: 'initialize', name: `agentsecFaultOutcome${this.id}` },
    );
  }

  private ruleFor(call: AwsCall): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.service !== call.service) continue;
      if (rule.operations && !rule.operations.includes(call.operation)) continue;
      if (rule.origins && !rule.origins.includes(call.origin)) continue;
      if (rule.when && !rule.when(call)) continue;
      const n = (this.matched.get(rule.name) ?? 0) + 1;
      this.matched.set(rule.name, n);
      if (rule.first === undefined && rule.nth === undefined && rule.rate === undefined) return rule;
      if (rule.first !== undefined && n <= rule.first) return rule;
      if (rule.nth !== undefined && n === rule.nth) return rule;
      if (rule.rate !== undefined && this.random() < rule.rate) return rule;
    }
    return undefined;
  }
}
