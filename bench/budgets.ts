/** The performance budgets of the issue, and the verdict on a set of measurements. */

export const BUDGETS = {
  /** KMS calls per hop, over the standard command. */
  kmsCallsPerHop: 2,
  /** The kernel's own time per hop, p50, microseconds. */
  hopOverheadUs: 300,
  /** e2e p50 with security on, over the same path with it off. */
  e2eRatio: 1.5,
  /** Commands/s of the plain pipeline over the secure one's, both at concurrency 8. */
  throughputRatioAt8: 1.5,
  /** Each Lambda bundle's index.js, bytes (1.5 MB, decimal). */
  bundleBytes: 1_500_000,
  /** Each Lambda bundle's cold load, median of fresh processes, milliseconds. */
  coldInitMs: 300,
  /**
   * Ledger append cost independent of length: no more DynamoDB requests or items read per append at the long
   * length, and the p50 of an append at the long length at most this multiple of the short one (room for
   * noise, none for O(n)). Latency is judged on the one-put append: moto answers a Limit-1 query by evaluating
   * every item of the table, which DynamoDB does not (it reads one item), so the head query's latency on the
   * emulator says nothing about the kernel.
   */
  ledgerLengthRatio: 1.5,
  /** Ledger calls per hop on the agents' path (the writers' pending puts; the sequencer's are off the path). */
  ledgerCallsPerHop: 1,
  /** Appends/s of the one-chain writer over those of 8 pending writers, in the same run: at least a 5× gain. */
  ledgerSingleChainShare: 0.2,
  /** The unvouched window's p99 on the local cloud: from an append to a signed head covering it, milliseconds. */
  ledgerUnvouchedP99Ms: 5000,
} as const;

/** The measurements the budgets judge; null when a phase could not run. */
export interface BudgetInputs {
  readonly hopOverheadUs: number | null;
  readonly kmsCallsPerHop: number | null;
  readonly e2eP50Ms: number | null;
  readonly baselineE2eP50Ms: number | null;
  /** Plain commands/s over secure commands/s at concurrency 8 (the scaling curve). @default not measured */
  readonly throughputRatioAt8?: number | null;
  readonly bundleBytes: Readonly<Record<string, number>> | null;
  readonly coldInitMs: Readonly<Record<string, number>> | null;
  readonly ledgerAppendShort: LedgerAppendCost | null;
  readonly ledgerAppendLong: LedgerAppendCost | null;
  readonly ledgerCallsPerHop: number | null;
  readonly ledgerAppendPerSec: number | null;
  readonly ledgerSingleChainAppendPerSec: number | null;
  readonly ledgerUnvouchedP99Ms: number | null;
}

/** One chain length's append cost, as the budget judges it. */
export interface LedgerAppendCost {
  /** p50 of an append by the writer that wrote the head last (one put). */
  readonly p50Ms: number;
  readonly requests: number;
  readonly itemsRead: number;
}

export interface Verdict {
  readonly budget: string;
  /** The measured value the budget compares (null: not measured). */
  readonly value: number | null;
  readonly limit: number;
  /** `≤` always: every budget is an upper bound. */
  readonly pass: boolean | null;
}

const check = (budget: string, value: number | null, limit: number): Verdict => ({
  budget,
  value,
  limit,
  pass: value === null || !Number.isFinite(value) ? null : value <= limit,
});

/** One verdict per budget and per bundle; `pass` null where the measurement is missing. */
export function judge(m: BudgetInputs): Verdict[] {
  const ratio = m.e2eP50Ms !== null && m.baselineE2eP50Ms ? m.e2eP50Ms / m.baselineE2eP50Ms : null;
  const verdicts: Verdict[] = [
    check('kmsCallsPerHop', m.kmsCallsPerHop, BUDGETS.kmsCallsPerHop),
    check('hopOverheadUs', m.hopOverheadUs, BUDGETS.hopOverheadUs),
    check('e2eP50Ms / baselineE2eP50Ms', ratio, BUDGETS.e2eRatio),
    check('baseline / secure commands/s at concurrency 8', m.throughputRatioAt8 ?? null, BUDGETS.throughputRatioAt8),
  ];
  if (m.bundleBytes === null || m.coldInitMs === null) {
    verdicts.push(check('bundleBytes', null, BUDGETS.bundleBytes), check('coldInitMs', null, BUDGETS.coldInitMs));
  } else {
    for (const [name, bytes] of Object.entries(m.bundleBytes)) verdicts.push(check(`bundleBytes[${name}]`, bytes, BUDGETS.bundleBytes));
    for (const [name, ms] of Object.entries(m.coldInitMs)) verdicts.push(check(`coldInitMs[${name}]`, ms, BUDGETS.coldInitMs));
  }
  verdicts.push(ledgerVerdict(m.ledgerAppendShort, m.ledgerAppendLong));
  const share = m.ledgerSingleChainAppendPerSec !== null && m.ledgerAppendPerSec ? m.ledgerSingleChainAppendPerSec / m.ledgerAppendPerSec : null;
  verdicts.push(
    check('ledgerCallsPerHop', m.ledgerCallsPerHop, BUDGETS.ledgerCallsPerHop),
    check('ledgerSingleChainAppendPerSec / ledgerAppendPerSec', share, BUDGETS.ledgerSingleChainShare),
    check('ledgerUnvouchedP99Ms', m.ledgerUnvouchedP99Ms, BUDGETS.ledgerUnvouchedP99Ms),
  );
  return verdicts;
}

/** Independent of length: no more requests at the long length, and a latency ratio within noise. */
function ledgerVerdict(short: BudgetInputs['ledgerAppendShort'], long: BudgetInputs['ledgerAppendLong']): Verdict {
  const budget = 'ledgerAppend long/short p50';
  if (!short || !long || !(short.p50Ms > 0)) return check(budget, null, BUDGETS.ledgerLengthRatio);
  const verdict = check(budget, long.p50Ms / short.p50Ms, BUDGETS.ledgerLengthRatio);
  return long.requests > short.requests || long.itemsRead > short.itemsRead ? { ...verdict, pass: false } : verdict;
}

/** True when every measured budget passed; false when one failed; null when nothing failed but some were not measured. */
export function overall(verdicts: readonly Verdict[]): boolean | null {
  if (verdicts.some((v) => v.pass === false)) return false;
  return verdicts.every((v) => v.pass === true) ? true : null;
}
