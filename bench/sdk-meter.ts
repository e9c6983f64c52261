import type { KMSClient } from '@aws-sdk/client-kms';
import { ClientInstrument, instrumentClients } from '../functions/platform/aws-clients';

/**
 * Every AWS SDK call the kernel's clients make, timed by a middleware around the whole call (serialization,
 * signing, retries and the round trip): what the benchmark counts as "KMS and network time", never the
 * kernel's own. KMS calls made by the Encryption SDK carry the message's encryption context, which names the
 * command, the sender, the addressee and the message, so each call is attributed exactly even when commands
 * run concurrently.
 */

export interface SdkCall {
  readonly service: 'kms' | 'sqs' | 'dynamodb';
  /** The command's name without the `Command` suffix: `GenerateDataKey`, `SendMessage`, `PutItem`. */
  readonly command: string;
  /** What the run was measuring when the call started (`secure`, `baseline`, ...). */
  readonly phase: string;
  readonly startedAt: number;
  readonly ms: number;
  /** From the KMS encryption context, or the SQS body's `commandId`. */
  readonly commandId?: string;
  readonly from?: string;
  readonly to?: string;
  readonly messageId?: string;
  /** KMS: `state` for state a function seals for itself (no command id in its context). */
  readonly purpose?: string;
  /** SQS: the message body's size in bytes. */
  readonly bodyBytes?: number;
  /** DynamoDB: the table's name. */
  readonly table?: string;
  /** DynamoDB ledger calls: the partition written or read (`main`, `core#pending`). */
  readonly partition?: string;
  /** DynamoDB Query: the items it evaluated (`ScannedCount`), DynamoDB's measure of what a query read. */
  readonly scanned?: number;
  /** The error's name when the call failed (`ConditionalCheckFailedException`). */
  readonly error?: string;
}

type CallInput = {
  Item?: Record<string, unknown>;
  EncryptionContext?: Record<string, string>;
  MessageBody?: string;
  TableName?: string;
  Key?: Record<string, unknown>;
  UpdateExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
};

/** A DynamoDB string, plain (document client) or marshalled (`{S: ...}`). */
const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof (v as { S?: unknown } | undefined)?.S === 'string' ? (v as { S: string }).S : undefined;

/**
 * The command an update sets to `status = completed` (the write after which the owner can read the result),
 * for both the kernel's command records and the baseline's; undefined for any other call. Only a `SET`
 * assignment counts: conditions mention `completed` too.
 */
export function completedCommandId(command: string, input: CallInput | undefined): string | undefined {
  const commandId = text(input?.Key?.commandId);
  if (command !== 'UpdateItem' || commandId === undefined || !input?.UpdateExpression) return undefined;
  const names = input.ExpressionAttributeNames ?? {};
  for (const [, path, value] of input.UpdateExpression.matchAll(/([#\w.]+)\s*=\s*(:\w+)/g)) {
    const attribute = path.split('.').map((seg) => names[seg] ?? seg).join('.');
    if (attribute === 'status' && text(input.ExpressionAttributeValues?.[value]) === 'completed') return commandId;
  }
  return undefined;
}

/** What a call's input says about the message and command it serves. */
export function describeCall(service: SdkCall['service'], input: CallInput | undefined): Partial<SdkCall> {
  if (service === 'dynamodb' && typeof input?.TableName === 'string') {
    // The ledger's partition key: in the item put, the key read, or a query's `:chain`.
    const partition = text(input.Item?.chain) ?? text(input.Key?.chain) ?? text(input.ExpressionAttributeValues?.[':chain']);
    return { table: input.TableName, ...(partition !== undefined && { partition }) };
  }
  const context = input?.EncryptionContext;
  if (service === 'kms' && context) {
    return { commandId: context.commandId, from: context.from, to: context.to, messageId: context.messageId, purpose: context.purpose };
  }
  if (service === 'sqs' && typeof input?.MessageBody === 'string') {
    const bodyBytes = Buffer.byteLength(input.MessageBody, 'utf8');
    try {
      const body = JSON.parse(input.MessageBody) as { commandId?: unknown; from?: unknown; to?: unknown; id?: unknown };
      const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
      return { bodyBytes, commandId: text(body.commandId), from: text(body.from), to: text(body.to), messageId: text(body.id) };
    } catch {
      return { bodyBytes };
    }
  }
  return {};
}

export class SdkMeter {
  readonly calls: SdkCall[] = [];
  /** Label given to the calls that start from now on. */
  phase = 'setup';
  private uninstall?: () => void;
  private readonly completed = new Set<string>();
  private readonly waiters = new Map<string, () => void>();

  /** Resolves once an update marking `commandId` completed has succeeded (at once if it already has). */
  completion(commandId: string): Promise<void> {
    if (this.completed.has(commandId)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(commandId, resolve));
  }

  private complete(commandId: string): void {
    this.completed.add(commandId);
    this.waiters.get(commandId)?.();
    this.waiters.delete(commandId);
  }

  /** Instruments every kernel client created after this (call before the clouds start). */
  install(): void {
    const instrument: ClientInstrument = (client, service) => {
      // Every SDK v3 client has the same stack; the KMS client's type stands for all three.
      (client.middlewareStack as KMSClient['middlewareStack']).add(
        (next, context) => async (args) => {
          const startedAt = performance.now();
          const phase = this.phase;
          let error: string | undefined;
          let scanned: number | undefined;
          try {
            const out = await next(args);
            scanned = (out.output as { ScannedCount?: number }).ScannedCount;
            const done = service === 'dynamodb' ? completedCommandId((context.commandName ?? '').replace(/Command$/, ''), args.input as CallInput) : undefined;
            if (done) this.complete(done);
            return out;
          } catch (err) {
            error = (err as { name?: string }).name ?? 'Error';
            throw err;
          } finally {
            const command = (context.commandName ?? 'unknown').replace(/Command$/, '');
            const call: SdkCall = { service, command, phase, startedAt, ms: performance.now() - startedAt, ...describeCall(service, args.input as CallInput) };
            this.calls.push({ ...call, ...(error ? { error } : {}), ...(scanned !== undefined ? { scanned } : {}) });
          }
        },
        { step: 'initialize', name: 'agentsecBenchMeter', override: true },
      );
    };
    this.uninstall = instrumentClients(instrument);
  }

  remove(): void {
    this.uninstall?.();
  }

  /** Calls of `phase` (optionally only those that started in `[from, to)`). */
  of(phase: string, from = -Infinity, to = Infinity): SdkCall[] {
    return this.calls.filter((c) => c.phase === phase && c.startedAt >= from && c.startedAt < to);
  }
}

/** What a KMS call was for. */
export type KmsPurpose =
  /** Sealing or opening a message from one principal to another: the envelope's necessary calls. */
  | 'transfer'
  /** Sealing or opening what an agent keeps for itself (core's plan, an effector's continuation). */
  | 'self'
  /** Opening again a message this principal already opened (the same context and message id). */
  | 'reopen'
  /** Calls without an encryption context (GetPublicKey, Sign). */
  | 'other';

export interface KmsTally {
  readonly total: number;
  readonly byCommand: Readonly<Record<string, number>>;
  readonly byPurpose: Readonly<Record<KmsPurpose, number>>;
}

/** Counts KMS calls by API and purpose (calls in the order they were made). */
export function tallyKmsCalls(calls: readonly Pick<SdkCall, 'command' | 'from' | 'to' | 'messageId'>[]): KmsTally {
  const byCommand: Record<string, number> = {};
  const byPurpose: Record<KmsPurpose, number> = { transfer: 0, self: 0, reopen: 0, other: 0 };
  const opened = new Set<string>();
  for (const call of calls) {
    byCommand[call.command] = (byCommand[call.command] ?? 0) + 1;
    byPurpose[purposeOf(call, opened)] += 1;
  }
  return { total: calls.length, byCommand, byPurpose };
}

function purposeOf(call: Pick<SdkCall, 'command' | 'from' | 'to' | 'messageId'>, opened: Set<string>): KmsPurpose {
  if (call.from === undefined || call.to === undefined) return 'other';
  if (call.from === call.to) return 'self';
  if (call.command !== 'Decrypt') return 'transfer';
  const key = `${call.from}\u0000${call.to}\u0000${call.messageId}`;
  if (opened.has(key)) return 'reopen';
  opened.add(key);
  return 'transfer';
}

/** Count, failures and summed time of calls per `service:command[:table]` (table without the cloud's prefix). */
export function timeByCall(calls: readonly SdkCall[]): Record<string, { calls: number; failed: number; ms: number }> {
  const out: Record<string, { calls: number; failed: number; ms: number }> = {};
  for (const c of calls) {
    const key = [c.service, c.command, c.table?.replace(/^.*-/, '')].filter(Boolean).join(':');
    out[key] ??= { calls: 0, failed: 0, ms: 0 };
    out[key].calls += 1;
    out[key].failed += c.error ? 1 : 0;
    out[key].ms += c.ms;
  }
  return out;
}
