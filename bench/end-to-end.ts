import type { CommandRequestBody, CommandView } from '../cli/api-client';
import { TERMINAL } from '../cli/api-client';
import { SdkCall, SdkMeter, tallyKmsCalls, timeByCall, KmsTally } from './sdk-meter';
import { Summary, summarize } from './stats';

/**
 * The standard command: core delegates to two effectors that are both cleared for its label (so no
 * declassification or approval is involved), one of which runs a tool. With the offline model, core's
 * plan names `analyst` and `auditor`; the analyst calls `read_patient_record`; both answer; core composes.
 * Five SQS messages (api → core → analyst, auditor → core) and the result handed to the API.
 */
export const STANDARD_COMMAND: CommandRequestBody = {
  text: 'Ask the analyst to read_patient_record P-1001. Ask the auditor to review the billing for P-1001.',
  classification: { level: 'SECRET', compartments: [] },
};

/** The API as a user sees it (`ApiClient` of the CLI). */
export interface CommandClient {
  submit(body: CommandRequestBody): Promise<{ commandId: string }>;
  command(id: string): Promise<CommandView>;
}

export interface CommandRun {
  readonly commandId: string;
  readonly status: string;
  /** From just before `POST /v1/commands` to the `GET` that returned a terminal status. */
  readonly ms: number;
  readonly startedAt: number;
  readonly endedAt: number;
}

/**
 * Submits one command and reads it until it is terminal. The read is issued the moment the command's
 * completing write succeeds (`completion`), as a user polling at exactly the right time would; it also polls
 * every `pollMs`, for commands that end otherwise. Polling fast instead would load the emulator, and load it
 * more for the slower contender.
 */
export async function runCommand(
  client: CommandClient,
  body: CommandRequestBody,
  options: { pollMs: number; completion: (commandId: string) => Promise<void>; timeoutMs?: number },
): Promise<CommandRun> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const startedAt = performance.now();
  const { commandId } = await client.submit(body);
  const completed = options.completion(commandId);
  for (;;) {
    const view = await client.command(commandId);
    const now = performance.now();
    if (TERMINAL.has(view.status)) return { commandId, status: view.status, ms: now - startedAt, startedAt, endedAt: now };
    if (now - startedAt > timeoutMs) throw new Error(`command ${commandId} still ${view.status} after ${timeoutMs} ms`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([completed, new Promise((r) => (timer = setTimeout(r, options.pollMs)))]);
    clearTimeout(timer);
  }
}

export interface Contender {
  /** Also the meter phase its calls are labelled with. */
  readonly name: string;
  readonly client: CommandClient;
}

/**
 * Runs the standard command `samples` times on each contender, alternating (A, B, A, B, ...), so both see the
 * same machine load, after `warmup` untimed runs each. Commands run one at a time.
 */
export async function measureLatency(
  contenders: readonly Contender[],
  options: { samples: number; warmup: number; pollMs: number; meter: SdkMeter; progress: (line: string) => void },
): Promise<Record<string, CommandRun[]>> {
  const runs: Record<string, CommandRun[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
  for (let i = 0; i < options.warmup + options.samples; i++) {
    for (const c of contenders) {
      options.meter.phase = i < options.warmup ? `${c.name}-warmup` : c.name;
      const run = await runCommand(c.client, STANDARD_COMMAND, { pollMs: options.pollMs, completion: (id) => options.meter.completion(id) });
      if (run.status !== 'completed') throw new Error(`${c.name}: the standard command ended ${run.status}`);
      if (i >= options.warmup) runs[c.name].push(run);
    }
    if (i >= options.warmup && (i - options.warmup + 1) % 10 === 0) {
      options.progress(`  ${i - options.warmup + 1}/${options.samples} ${contenders.map((c) => `${c.name} ${Math.round(runs[c.name].at(-1)!.ms)} ms`).join(', ')}`);
    }
  }
  options.meter.phase = 'idle';
  return runs;
}

export interface CommandCost {
  readonly latency: Summary;
  /** KMS calls per command, by API and purpose (averaged over the commands). */
  readonly kms: KmsTally;
  /** Messages sent for the command (SQS) plus the result handed to the API. */
  readonly hopsPerCommand: number;
  readonly kmsCallsPerHop: number;
  /** Mean SQS body size of the command's messages. */
  readonly meanBodyBytes: number;
  /** SDK calls per command by `service:command[:table]`: count, failures and summed time (parallel branches add up). */
  readonly sdk: Record<string, { calls: number; failed: number; ms: number }>;
  /** Ledger calls the agents make per hop (their pending appends; they read nothing). */
  readonly ledgerCallsPerHop: number;
  /** Every writer's ledger calls per hop: the agents', and the API's, the signer's and the effect gateway's pending appends. */
  readonly ledgerWriterCallsPerHop: number;
  /** The sequencer's and the signer's calls on the sealed log per hop (off the agents' path). */
  readonly sealedLogCallsPerHop: number;
}

/** AWS calls per command by service (`kms`, `dynamodb`, `sqs`) and in all, from {@link CommandCost.sdk}. */
export function callsByService(sdk: CommandCost['sdk']): Record<string, number> {
  const by: Record<string, number> = {};
  for (const [key, v] of Object.entries(sdk)) {
    const service = key.split(':')[0];
    by[service] = (by[service] ?? 0) + v.calls;
  }
  by.total = Object.values(by).reduce((a, b) => a + b, 0);
  return by;
}

/** The pending partitions of the service functions, which are not agents. */
const SERVICE_PARTITIONS: ReadonlySet<string> = new Set(['api#pending', 'signer#pending', 'effects#pending']);

/** What each completed command of `runs` cost, from the calls the meter recorded in their time windows. */
export function commandCost(runs: readonly CommandRun[], calls: readonly SdkCall[]): CommandCost {
  const perCommand = runs.map((run) => {
    const inWindow = calls.filter((c) => c.startedAt >= run.startedAt && c.startedAt <= run.endedAt);
    // Sealed state names no command (its data key serves many): counted in the window of the command it fell in.
    const kms = inWindow.filter((c) => c.service === 'kms' && (c.commandId === run.commandId || (c.commandId === undefined && c.purpose === 'state')));
    const sent = inWindow.filter((c) => c.service === 'sqs' && c.command === 'SendMessage' && c.commandId === run.commandId);
    return { kms: tallyKmsCalls(kms), sent, inWindow };
  });
  const n = Math.max(perCommand.length, 1);
  const kmsTotal = perCommand.reduce((s, c) => s + c.kms.total, 0);
  const hops = perCommand.reduce((s, c) => s + c.sent.length + 1, 0);
  const bodies = perCommand.flatMap((c) => c.sent.map((s) => s.bodyBytes ?? 0));
  const sdk = timeByCall(perCommand.flatMap((c) => c.inWindow));
  const ledgerCalls = perCommand.flatMap((c) => c.inWindow).filter((c) => c.service === 'dynamodb' && c.partition !== undefined && /-ledger$/.test(c.table ?? ''));
  const pendingCalls = ledgerCalls.filter((c) => c.partition!.endsWith('#pending'));
  const pending = pendingCalls.length;
  const byAgents = pendingCalls.filter((c) => !SERVICE_PARTITIONS.has(c.partition!)).length;
  for (const v of Object.values(sdk)) {
    v.calls /= n;
    v.failed /= n;
    v.ms /= n;
  }
  return {
    latency: summarize(runs.map((r) => r.ms)),
    kms: averageTally(perCommand.map((c) => c.kms), n),
    hopsPerCommand: hops / n,
    kmsCallsPerHop: hops ? kmsTotal / hops : Number.NaN,
    meanBodyBytes: bodies.length ? bodies.reduce((a, b) => a + b, 0) / bodies.length : Number.NaN,
    sdk,
    ledgerCallsPerHop: hops ? byAgents / hops : Number.NaN,
    ledgerWriterCallsPerHop: hops ? pending / hops : Number.NaN,
    sealedLogCallsPerHop: hops ? (ledgerCalls.length - pending) / hops : Number.NaN,
  };
}

function averageTally(tallies: readonly KmsTally[], n: number): KmsTally {
  const sum = <K extends string>(pick: (t: KmsTally) => Readonly<Record<K, number>>) => {
    const out: Record<string, number> = {};
    for (const t of tallies) for (const [k, v] of Object.entries(pick(t)) as [string, number][]) out[k] = (out[k] ?? 0) + v / n;
    return out;
  };
  return {
    total: tallies.reduce((s, t) => s + t.total, 0) / n,
    byCommand: sum((t) => t.byCommand),
    byPurpose: sum((t) => t.byPurpose) as KmsTally['byPurpose'],
  };
}

export interface Throughput {
  readonly concurrency: number;
  readonly commands: number;
  readonly completed: number;
  readonly elapsedMs: number;
  readonly commandsPerSec: number;
  readonly latency: Summary;
}

/** Closed loop: `concurrency` users each submit the standard command and wait for it, until `total` were run. */
export async function measureThroughput(
  client: CommandClient,
  options: { concurrency: number; total: number; pollMs: number; completion: (commandId: string) => Promise<void> },
): Promise<Throughput> {
  let started = 0;
  const runs: CommandRun[] = [];
  const begin = performance.now();
  const user = async () => {
    while (started < options.total) {
      started += 1;
      runs.push(await runCommand(client, STANDARD_COMMAND, { pollMs: options.pollMs, completion: options.completion, timeoutMs: 120_000 }));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, user));
  const elapsedMs = performance.now() - begin;
  const completed = runs.filter((r) => r.status === 'completed').length;
  return {
    concurrency: options.concurrency,
    commands: options.total,
    completed,
    elapsedMs,
    commandsPerSec: completed / (elapsedMs / 1000),
    latency: summarize(runs.map((r) => r.ms)),
  };
}
