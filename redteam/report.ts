import { ATTACK_CLASSES, AttackClass, Outcome, Verdict } from './attempt';
import { UtilityReport, formatUtility } from './utility';

/** Counts of one class, by verdict. */
export type ClassTally = { tries: number } & Record<Verdict, number>;

export interface RedTeamReport {
  /** True when no attempt succeeded and every attempt could be judged. */
  readonly ok: boolean;
  readonly attempts: number;
  readonly successes: number;
  readonly durationMs: number;
  readonly classes: Record<AttackClass, ClassTally>;
  readonly successList: readonly Outcome[];
  readonly residual: readonly Outcome[];
  readonly anomalies: readonly Outcome[];
  readonly errors: readonly Outcome[];
  /** Every attempt, in the order run. */
  readonly outcomes: readonly Outcome[];
  /** How many benign tasks still complete beside the attacks (absent when not measured). */
  readonly utility?: UtilityReport;
}

const VERDICTS: readonly Verdict[] = ['success', 'blocked', 'held', 'contained', 'residual', 'error'];

export function summarize(outcomes: readonly Outcome[], durationMs: number, utility?: UtilityReport): RedTeamReport {
  const classes = Object.fromEntries(
    ATTACK_CLASSES.map((c) => [c, { tries: 0, ...Object.fromEntries(VERDICTS.map((v) => [v, 0])) } as ClassTally]),
  ) as Record<AttackClass, ClassTally>;
  for (const o of outcomes) {
    classes[o.class].tries += 1;
    classes[o.class][o.verdict] += 1;
  }
  const of = (v: Verdict) => outcomes.filter((o) => o.verdict === v);
  const successList = of('success');
  const errors = of('error');
  return {
    ok: successList.length === 0 && errors.length === 0,
    attempts: outcomes.length,
    successes: successList.length,
    durationMs,
    classes,
    successList,
    residual: of('residual'),
    anomalies: outcomes.filter((o) => o.anomaly !== undefined),
    errors,
    outcomes,
    ...(utility ? { utility } : {}),
  };
}

/** The table `npm run redteam` prints: class × tries × verdicts, then every success, residual risk and anomaly. */
export function formatReport(report: RedTeamReport): string {
  const header = ['class', 'tries', 'successes', 'blocked', 'held', 'contained', 'residual', 'errors'];
  const rows = ATTACK_CLASSES.filter((c) => report.classes[c].tries > 0).map((c) => {
    const t = report.classes[c];
    return [c, t.tries, t.success, t.blocked, t.held, t.contained, t.residual, t.error].map(String);
  });
  const total = (k: Verdict) => ATTACK_CLASSES.reduce((n, c) => n + report.classes[c][k], 0);
  rows.push(['total', String(report.attempts), ...(['success', 'blocked', 'held', 'contained', 'residual', 'error'] as const).map((k) => String(total(k)))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(0, -1).map(line), widths.map((w) => '-'.repeat(w)).join('  '), line(rows.at(-1)!)];
  const section = (title: string, list: readonly Outcome[], detail: (o: Outcome) => string) => {
    if (list.length === 0) return;
    out.push('', `${title} (${list.length}):`);
    for (const o of list) out.push(`  [${o.class}] ${o.name}: ${detail(o)}`);
  };
  const runtime = runtimeTally(report.outcomes);
  if (runtime.attempts > 0) {
    out.push(
      '',
      `Compromised runtimes: ${runtime.attempts} attempts, ${runtime.deniedByIam} denied by IAM, ${runtime.refusedByCode} refused by code, ${runtime.detected} detected, ${runtime.succeeded} succeeded`,
    );
  }
  if (report.utility) out.push('', ...formatUtility(report.utility));
  section('SUCCESSFUL ATTACKS', report.successList, (o) => o.evidence);
  section('Residual risk (within policy by design)', report.residual, (o) => o.evidence);
  section('Anomalies (refused, but not as documented)', report.anomalies, (o) => `${o.anomaly} (${o.evidence})`);
  section('Not judged (harness errors)', report.errors, (o) => o.evidence);
  out.push('', `${report.attempts} attempts, ${report.successes} successes in ${(report.durationMs / 1000).toFixed(1)} s: ${report.ok ? 'the kernel held' : report.successes > 0 ? 'ATTACKS SUCCEEDED' : 'INCONCLUSIVE'}`);
  return out.join('\n');
}

/** attempts / denied by IAM / refused by code / detected / succeeded, over the runtime class. */
export function runtimeTally(outcomes: readonly Outcome[]): Record<'attempts' | 'deniedByIam' | 'refusedByCode' | 'detected' | 'succeeded', number> {
  const runtime = outcomes.filter((o) => o.class === 'runtime');
  return {
    attempts: runtime.length,
    deniedByIam: runtime.filter((o) => o.evidence.startsWith('denied by IAM')).length,
    refusedByCode: runtime.filter((o) => o.evidence.startsWith('refused by code')).length,
    detected: runtime.filter((o) => o.evidence.startsWith('detected')).length,
    succeeded: runtime.filter((o) => o.verdict === 'success' || o.verdict === 'residual').length,
  };
}
