import type { LedgerEntry } from '../../functions/kernel/ledger/entry';

/** Milliseconds from `command.accepted` to the command's first terminal entry, per command, from the ledger's times. */
export function latencies(ledger: readonly LedgerEntry[], commands: ReadonlyMap<string, string>): number[] {
  const accepted = new Map<string, number>();
  const ended = new Map<string, number>();
  for (const e of ledger) {
    if (!e.commandId || !commands.has(e.commandId)) continue;
    const at = Date.parse(e.at);
    if (e.type === 'command.accepted') accepted.set(e.commandId, at);
    if ((e.type === 'command.completed' || e.type === 'command.failed') && !ended.has(e.commandId)) ended.set(e.commandId, at);
  }
  return [...ended].filter(([id]) => accepted.has(id)).map(([id, at]) => at - accepted.get(id)!).sort((a, b) => a - b);
}

/** The p-th percentile (nearest rank) of sorted values; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Maps `items` through `fn` with at most `limit` calls in flight; results in input order. */
export async function inParallel<T, R>(limit: number, items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The most commands that were accepted and not yet ended at one moment, from the ledger's times. */
export function peakInFlight(ledger: readonly LedgerEntry[], commands: ReadonlyMap<string, string>): number {
  const events: [number, number][] = [];
  const ended = new Set<string>();
  for (const e of ledger) {
    if (!e.commandId || !commands.has(e.commandId)) continue;
    if (e.type === 'command.accepted') events.push([Date.parse(e.at), 1]);
    if ((e.type === 'command.completed' || e.type === 'command.failed') && !ended.has(e.commandId)) {
      ended.add(e.commandId);
      events.push([Date.parse(e.at), -1]);
    }
  }
  let now = 0;
  let peak = 0;
  for (const [, delta] of events.sort((a, b) => a[0] - b[0] || a[1] - b[1])) peak = Math.max(peak, (now += delta));
  return peak;
}
