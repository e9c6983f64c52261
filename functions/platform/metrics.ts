import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricsOptions } from '@aws-lambda-powertools/metrics/types';
import type { LedgerEntry } from '../kernel/ledger/entry';
import { once } from './once';

/**
 * What AgentSec counts, where the decisions are made (Powertools Metrics: CloudWatch's embedded metric format in the
 * function's log, flushed by the handlers' `logMetrics` middleware). The alarms of lib/operations.ts read these names.
 */

/** The CloudWatch namespace of every AgentSec metric. */
export const METRICS_NAMESPACE = 'AgentSec';

/** The metrics, by what they count. */
export const METRIC = {
  /** Entries the sequencer sealed, by `type`. */
  ledgerEntries: 'LedgerEntries',
  /** Sealed refusals (`*.denied`, `*.rejected` entries): in total, and by `reason`. */
  refusals: 'Refusals',
  /** Changes or deletions of pending entries, sealed as `ledger.tampered`. */
  ledgerTampered: 'LedgerTampered',
  /** Pending entries the sequencer would not seal (`ledger.refused`: malformed, or an actor named by the wrong writer). */
  ledgerRefused: 'LedgerRefused',
  /** Directives the signer signed. */
  directivesSigned: 'DirectivesSigned',
  /** Writes of a command's status, by `status` (a terminal status is written once per command). */
  commands: 'Commands',
} as const;

/** The dimension every metric has: the function that emitted it (`POWERTOOLS_SERVICE_NAME`). */
export const SERVICE_DIMENSION = 'service';

/** The name of the function acting as `actor` in logs, metrics and traces: its `POWERTOOLS_SERVICE_NAME`. */
export function serviceNameOf(actor: string): string {
  return `agentsec-${actor}`;
}

/** What a count is added to: this process's metrics, or a test's. */
export type MetricsSink = Pick<Metrics, 'addMetric' | 'singleMetric'>;

/** Entry types that record a refusal: a message, directive, tool call or egress the kernel would not allow. */
const isRefusal = (type: LedgerEntry['type']): boolean => type.endsWith('.denied') || type.endsWith('.rejected');

/**
 * Powertools' notices about metrics go to the function's log at its level. "No application metrics to publish" is
 * routine here (most invocations decide nothing that is counted), so it is a debug line, not a warning per invocation.
 */
function notices(logger: Logger): NonNullable<MetricsOptions['logger']> {
  return {
    debug: (...content) => logger.debug(String(content[0]), ...content.slice(1)),
    info: (...content) => logger.info(String(content[0]), ...content.slice(1)),
    warn: (...content) =>
      String(content[0]).startsWith('No application metrics to publish') ? logger.debug(String(content[0])) : logger.warn(String(content[0]), ...content.slice(1)),
    error: (...content) => logger.error(String(content[0]), ...content.slice(1)),
  };
}

/**
 * This process's metrics (a Lambda function is one process): namespace `AgentSec`, the service from
 * `POWERTOOLS_SERVICE_NAME`. Built on first use, so it reads the environment the function runs with; nothing is written
 * when `POWERTOOLS_METRICS_DISABLED` is true, as the local cloud and the tests set it.
 */
export const processMetrics = once(() => new Metrics({ namespace: METRICS_NAMESPACE, logger: notices(new Logger()) }));

/**
 * Adds `n` to `name`: with the service dimension only, into the invocation's buffer; or by one more dimension, published
 * at once (Powertools' buffer has one set of dimensions for all its metrics).
 */
function count(metrics: MetricsSink, name: string, n: number, by?: { readonly dimension: string; readonly value: string }): void {
  if (n <= 0) return;
  if (!by) {
    metrics.addMetric(name, MetricUnit.Count, n);
    return;
  }
  const single = metrics.singleMetric();
  single.addDimension(by.dimension, by.value);
  single.addMetric(name, MetricUnit.Count, n);
}

/** How many of `items` fall under each key. */
function tally<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/**
 * Counts what the sequencer sealed: every entry by type, refusals in total and by reason, and the entries that say the
 * ledger itself was attacked (`ledger.tampered`, `ledger.refused`).
 *
 * @example
 * const outcome = await sequencer.sequence(changes);
 * countSealed(outcome.entries);
 */
export function countSealed(entries: readonly Pick<LedgerEntry, 'type' | 'reason'>[], metrics: MetricsSink = processMetrics()): void {
  for (const [type, n] of tally(entries, (e) => e.type)) count(metrics, METRIC.ledgerEntries, n, { dimension: 'type', value: type });
  const refusals = entries.filter((e) => isRefusal(e.type));
  count(metrics, METRIC.refusals, refusals.length);
  for (const [reason, n] of tally(refusals, (e) => e.reason ?? 'NONE')) count(metrics, METRIC.refusals, n, { dimension: 'reason', value: reason });
  count(metrics, METRIC.ledgerTampered, entries.filter((e) => e.type === 'ledger.tampered').length);
  count(metrics, METRIC.ledgerRefused, entries.filter((e) => e.type === 'ledger.refused').length);
}

/** Counts a directive the signer signed. */
export function countDirectiveSigned(metrics: MetricsSink = processMetrics()): void {
  count(metrics, METRIC.directivesSigned, 1);
}

/** Counts a write of a command's status, by the status written. */
export function countCommandStatus(status: string, metrics: MetricsSink = processMetrics()): void {
  count(metrics, METRIC.commands, 1, { dimension: 'status', value: status });
}
