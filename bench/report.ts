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
  readonly ledgerAppendPerSec: number | null;
  readonly ledgerAppendWriters: number;
  /** p50 append latency by chain length: by the writer that wrote the head last (a put), and by a fresh writer (query + put). */
  readonly ledgerAppendP50Ms: Readonly<Record<string, { readonly lastWriter: number | null; readonly freshWriter: number | null }>> | null;
  readonly ledgerVerifyPerSec: number | null;
  /** Entries hashed into the RFC 9162 tree a signed head covers, per second (in memory). */
  readonly ledgerTreePerSec: number | null;
  /** One inclusion proof checked offline, µs. */
  readonly ledgerProofVerifyUs: number | null;
  /** An inclusion proof's audit path at 10^6 entries, bytes (computed). */
  readonly ledgerProofBytesAt1e6: number | null;
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
    [`ledgerAppendPerSec (${r.ledgerAppendWriters} writers)`, show(r.ledgerAppendPerSec, '/s', 0), '', ''],
    ...ledgerRows(r),
    ['ledgerVerifyPerSec (100k in memory)', show(r.ledgerVerifyPerSec, '/s', 0), '', ''],
    ['ledgerTreePerSec (100k in memory)', show(r.ledgerTreePerSec, '/s', 0), '', ''],
    ['ledgerProofVerifyUs', show(r.ledgerProofVerifyUs, ' µs', 1), '', ''],
    ['ledgerProofBytesAt1e6 (computed)', show(r.ledgerProofBytesAt1e6, ' B', 0), '', ''],
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
  if (lengths.length !== 2) return [['ledger append, long/short p50', 'n/a', `≤ ${BUDGETS.ledgerLengthRatio}×`, '—']];
  const [short, long] = lengths.map((l) => r.ledgerAppendP50Ms![l]);
  const verdict = r.budgets.find((v) => v.budget.startsWith('ledgerAppend'));
  return [
    [`ledger append p50 at ${lengths.join(' / ')} entries`, `${show(short.lastWriter, '', 1)} / ${show(long.lastWriter, ' ms', 1)}`, `≤ ${BUDGETS.ledgerLengthRatio}×`, verdictText(verdict?.pass)],
    ['  a fresh writer (query + put; moto scans)', `${show(short.freshWriter, '', 1)} / ${show(long.freshWriter, ' ms', 1)}`, '', ''],
  ];
}

/** The whole result as one line of JSON (NaN and infinities as null). */
export function jsonLine(r: BenchResult): string {
  return JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}
