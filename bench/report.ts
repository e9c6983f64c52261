import { BUDGETS, Verdict } from './budgets';

/** The run's result: the metric names at the top level, budgets and verdicts, then the details. */
export interface BenchResult {
  readonly startedAt: string;
  readonly durationS: number;
  readonly machine: { readonly node: string; readonly cpus: number; readonly loadAverageStart: number[]; readonly loadAverageEnd: number[] };
  readonly hopOverheadUs: number | null;
  readonly hopOverheadDirectiveUs: number | null;
  readonly kmsCallsPerHop: number | null;
  readonly e2eP50Ms: number | null;
  readonly e2eP99Ms: number | null;
  readonly baselineE2eP50Ms: number | null;
  readonly baselineE2eP99Ms: number | null;
  readonly e2eRatio: number | null;
  readonly throughputCommandsPerSec: number | null;
  readonly throughputConcurrency: number;
  readonly baselineThroughputCommandsPerSec: number | null;
  readonly bundleBytes: Record<string, number> | null;
  readonly coldInitMs: Record<string, number> | null;
  /** Pending appends per second by `ledgerAppendWriters` writers, each to its own partition. */
  readonly ledgerAppendPerSec: number | null;
  readonly ledgerAppendWriters: number;
  /** The same writers on one shared chain (the conditional-put writer the sequencer now uses alone), same run. */
  readonly ledgerSingleChainAppendPerSec: number | null;
  /** Entries the sequencer seals per second, from the stream. */
  readonly ledgerSealedPerSec: number | null;
  /** Plain PutItems per second by as many concurrent loops: the emulator's ceiling for any writer. */
  readonly emulatorPutsPerSec: number | null;
  /** p50 of a pending append by the sealed log's length (one put whatever the length). */
  readonly ledgerAppendP50Ms: Readonly<Record<string, number | null>> | null;
  /** Ledger calls per hop on the agents' path, and the sequencer's and signer's on the sealed log. */
  readonly ledgerCallsPerHop: number | null;
  /** All writers' (the API's, the signer's and the gateway's too) ledger calls per hop. */
  readonly ledgerWriterCallsPerHop: number | null;
  readonly ledgerSealedLogCallsPerHop: number | null;
  /** From an append to the signed head that first covers it, on the local cloud. */
  readonly ledgerUnvouchedP50Ms: number | null;
  readonly ledgerUnvouchedP99Ms: number | null;
  readonly ledgerVerifyPerSec: number | null;
  /** Entries hashed into the RFC 9162 tree a signed head covers, per second (in memory). */
  readonly ledgerTreePerSec: number | null;
  /** One inclusion proof checked offline, µs. */
  readonly ledgerProofVerifyUs: number | null;
  /** An inclusion proof's audit path at 10^6 entries, bytes (computed). */
  readonly ledgerProofBytesAt1e6: number | null;
  /** Per concurrency level: commands/s and p50/p99 of both pipelines, and plain/secure commands/s. */
  readonly scaling: ReadonlyArray<Record<string, number | null>> | null;
  /** Plain over secure commands/s at concurrency 8. */
  readonly throughputRatioAt8: number | null;
  /** AWS calls per standard command by service and in all (the SDK meter, in each command's window), both pipelines. */
  readonly awsCallsPerCommand: { readonly secure: Readonly<Record<string, number>>; readonly baseline: Readonly<Record<string, number>> } | null;
  /** USD per 1,000 standard commands on AWS, requests and estimated compute (bench/cost-model.ts). */
  readonly costPer1000CommandsUsd: number | null;
  readonly baselineCostPer1000CommandsUsd: number | null;
  readonly budgets: readonly Verdict[];
  readonly pass: boolean | null;
  /** Phases that could not run, and why. */
  readonly errors: Readonly<Record<string, string>>;
  readonly details: Record<string, unknown>;
}

const show = (v: number | null | undefined, unit = '', digits = 1) =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toLocaleString('en-US', { maximumFractionDigits: digits })}${unit}`;
const verdictText = (pass: boolean | null | undefined) => (pass === true ? 'PASS' : pass === false ? 'FAIL' : '—');

function table(rows: readonly string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/** The human table: each metric with its budget and verdict, then the bundles. */
export function formatTable(r: BenchResult): string {
  const verdict = (budget: string) => r.budgets.find((v) => v.budget === budget)?.pass;
  const rows: string[][] = [
    ['metric', 'value', 'budget', 'verdict'],
    ['hopOverheadUs (p50, kernel only)', show(r.hopOverheadUs, ' µs', 0), `≤ ${BUDGETS.hopOverheadUs} µs`, verdictText(verdict('hopOverheadUs'))],
    ['  with a signed directive', show(r.hopOverheadDirectiveUs, ' µs', 0), '', ''],
    ['kmsCallsPerHop', show(r.kmsCallsPerHop, '', 2), `≤ ${BUDGETS.kmsCallsPerHop}`, verdictText(verdict('kmsCallsPerHop'))],
    ['e2eP50Ms', show(r.e2eP50Ms, ' ms', 0), '', ''],
    ['e2eP99Ms', show(r.e2eP99Ms, ' ms', 0), '', ''],
    ['baselineE2eP50Ms (security off)', show(r.baselineE2eP50Ms, ' ms', 0), '', ''],
    ['e2eP50Ms / baselineE2eP50Ms', show(r.e2eRatio, '', 2), `≤ ${BUDGETS.e2eRatio}`, verdictText(verdict('e2eP50Ms / baselineE2eP50Ms'))],
    [`throughputCommandsPerSec (concurrency ${r.throughputConcurrency})`, show(r.throughputCommandsPerSec, '/s', 2), '', ''],
    ['  baseline, same concurrency', show(r.baselineThroughputCommandsPerSec, '/s', 2), '', ''],
    [`ledgerAppendPerSec (${r.ledgerAppendWriters} pending writers)`, show(r.ledgerAppendPerSec, '/s', 0), '', ''],
    [
      '  one shared chain, same writers',
      show(r.ledgerSingleChainAppendPerSec, '/s', 0),
      `≤ ${BUDGETS.ledgerSingleChainShare}× pending`,
      verdictText(verdict('ledgerSingleChainAppendPerSec / ledgerAppendPerSec')),
    ],
    ['  the emulator\'s ceiling (plain puts, same loops)', show(r.emulatorPutsPerSec, '/s', 0), '', ''],
    ['ledgerSealedPerSec (the sequencer)', show(r.ledgerSealedPerSec, '/s', 0), '', ''],
    ...ledgerRows(r),
    ['ledgerCallsPerHop (agents\' path)', show(r.ledgerCallsPerHop, '', 2), `≤ ${BUDGETS.ledgerCallsPerHop}`, verdictText(verdict('ledgerCallsPerHop'))],
    ['  every writer (agents, API, signer, gateway)', show(r.ledgerWriterCallsPerHop, '', 2), '', ''],
    ['  sealed log (sequencer, signer)', show(r.ledgerSealedLogCallsPerHop, '', 2), '', ''],
    ['ledgerUnvouchedP50Ms', show(r.ledgerUnvouchedP50Ms, ' ms', 0), '', ''],
    ['ledgerUnvouchedP99Ms', show(r.ledgerUnvouchedP99Ms, ' ms', 0), `≤ ${BUDGETS.ledgerUnvouchedP99Ms} ms`, verdictText(verdict('ledgerUnvouchedP99Ms'))],
    ['ledgerVerifyPerSec (100k in memory)', show(r.ledgerVerifyPerSec, '/s', 0), '', ''],
    ['ledgerTreePerSec (100k in memory)', show(r.ledgerTreePerSec, '/s', 0), '', ''],
    ['ledgerProofVerifyUs', show(r.ledgerProofVerifyUs, ' µs', 1), '', ''],
    ['ledgerProofBytesAt1e6 (computed)', show(r.ledgerProofBytesAt1e6, ' B', 0), '', ''],
    ...(r.scaling ?? []).map((row) => [
      `  concurrency ${row.concurrency}`,
      `${show(row.secureCommandsPerSec, '/s', 2)} vs ${show(row.baselineCommandsPerSec, '/s', 2)} (p50 ${show(row.secureP50Ms, ' ms', 0)} vs ${show(row.baselineP50Ms, ' ms', 0)})`,
      '',
      '',
    ]),
    ['baseline / secure commands/s at concurrency 8', show(r.throughputRatioAt8, '', 2), `≤ ${BUDGETS.throughputRatioAt8}`, verdictText(verdict('baseline / secure commands/s at concurrency 8'))],
    ['awsCallsPerCommand (KMS / DynamoDB / SQS: all)', callsText(r.awsCallsPerCommand?.secure), '', ''],
    ['  baseline', callsText(r.awsCallsPerCommand?.baseline), '', ''],
    ['costPer1000CommandsUsd (AWS, us-east-1)', show(r.costPer1000CommandsUsd, ' $', 4), '', ''],
    ['  baseline', show(r.baselineCostPer1000CommandsUsd, ' $', 4), '', ''],
  ];
  const bundles: string[][] = [['bundle', 'bundleBytes', 'verdict', 'coldInitMs (median of 5)', 'verdict']];
  for (const name of Object.keys(r.bundleBytes ?? {})) {
    bundles.push([
      name,
      show(r.bundleBytes![name], '', 0),
      verdictText(verdict(`bundleBytes[${name}]`)),
      show(r.coldInitMs?.[name], ' ms', 0),
      verdictText(verdict(`coldInitMs[${name}]`)),
    ]);
  }
  const lines = [table(rows), '', `bundles (budget ≤ ${BUDGETS.bundleBytes.toLocaleString('en-US')} bytes, ≤ ${BUDGETS.coldInitMs} ms):`];
  lines.push(bundles.length > 1 ? table(bundles) : '  n/a');
  for (const [phase, error] of Object.entries(r.errors)) lines.push(`not measured — ${phase}: ${error}`);
  lines.push('', `overall: ${verdictText(r.pass)} (${r.durationS.toFixed(0)} s; load average ${r.machine.loadAverageStart.map((l) => l.toFixed(1)).join(' ')} → ${r.machine.loadAverageEnd.map((l) => l.toFixed(1)).join(' ')} on ${r.machine.cpus} CPUs)`);
  return lines.join('\n');
}

function ledgerRows(r: BenchResult): string[][] {
  const lengths = Object.keys(r.ledgerAppendP50Ms ?? {});
  if (lengths.length !== 2) return [['pending append, long/short p50', 'n/a', `≤ ${BUDGETS.ledgerLengthRatio}×`, '—']];
  const [short, long] = lengths.map((l) => r.ledgerAppendP50Ms![l]);
  const verdict = r.budgets.find((v) => v.budget.startsWith('ledgerAppend long'));
  return [[`pending append p50 at ${lengths.join(' / ')} sealed entries`, `${show(short, '', 1)} / ${show(long, ' ms', 1)}`, `≤ ${BUDGETS.ledgerLengthRatio}×`, verdictText(verdict?.pass)]];
}

/** The whole result as one line of JSON (NaN and infinities as null). */
export function jsonLine(r: BenchResult): string {
  return JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}

/** `12 / 38.8 / 5: 55.8`: a pipeline's calls per command by service, and in all. */
function callsText(by: Readonly<Record<string, number>> | undefined): string {
  if (!by) return 'n/a';
  const n = (k: string) => (by[k] ?? 0).toFixed(1).replace(/\.0$/, '');
  return `${n('kms')} / ${n('dynamodb')} / ${n('sqs')}: ${n('total')}`;
}
