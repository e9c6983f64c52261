import { ApiClient, ApiRequestError, CommandView } from './api-client';
import type { EntryView } from './output';

/** The API's largest audit page. */
const PAGE = 1000;

/** Every ledger entry after `since`, page by page. */
export async function auditSince(api: ApiClient, since = 0): Promise<EntryView[]> {
  const all: EntryView[] = [];
  for (let after = since; ; ) {
    const page = (await api.audit(after, PAGE)) as EntryView[];
    all.push(...page);
    if (page.length < PAGE) return all;
    after = page[page.length - 1].seq;
  }
}

/** The sequence number of the newest ledger entry, or undefined when the caller may not read the ledger. */
export async function ledgerHead(api: ApiClient): Promise<number | undefined> {
  try {
    return (await auditSince(api)).at(-1)?.seq ?? 0;
  } catch (err) {
    if (err instanceof ApiRequestError && err.status === 403) return undefined;
    throw err;
  }
}

export interface WatchOptions {
  /** Called on each status change. */
  readonly onStatus?: (view: CommandView) => void;
  /** Called for each new ledger entry about the command (only for callers allowed to read the ledger). */
  readonly onEntry?: (entry: EntryView) => void;
  /** The ledger head before the command was submitted; without it no entries are reported. */
  readonly ledgerFrom?: number;
  /** Stop waiting when this holds. @default a terminal status */
  readonly until?: (view: CommandView) => boolean;
  /** @default 120000 */
  readonly timeoutMs?: number;
}

/**
 * Follows a command until `until` holds: its status through the API, and what the agents did through the
 * ledger (the ledger holds identifiers, labels and digests, never content, DESIGN §7).
 */
export async function watchCommand(api: ApiClient, commandId: string, options: WatchOptions = {}): Promise<CommandView> {
  let seen = options.ledgerFrom;
  const types: string[] = [];
  const drainLedger = async (): Promise<number> => {
    if (seen === undefined || !options.onEntry) return 0;
    let found = 0;
    for (const e of await auditSince(api, seen)) {
      seen = Math.max(seen, e.seq);
      if (e.commandId !== commandId) continue;
      found += 1;
      types.push(e.type);
      options.onEntry(e);
    }
    return found;
  };
  const view = await api.waitFor(commandId, {
    timeoutMs: options.timeoutMs ?? 120_000,
    ...(options.until ? { until: options.until } : {}),
    ...(options.onStatus ? { onChange: options.onStatus } : {}),
    onPoll: async () => void (await drainLedger()),
  });
  if (seen === undefined || !options.onEntry) return view;
  // The sequencer seals entries in batches, a moment after they are written: follow the ledger until the entry that
  // closes this status is sealed, or, for a status no single entry closes, until it has been quiet for a while.
  const closing = CLOSING_ENTRY[view.status];
  const deadline = Date.now() + SETTLE_MS;
  let quietSince = Date.now();
  for (;;) {
    if ((await drainLedger()) > 0) quietSince = Date.now();
    const settled = closing ? types.includes(closing) : Date.now() - quietSince >= QUIET_MS;
    if (settled || Date.now() >= deadline) return view;
    await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
  }
}

/** The ledger entry written before a command may show this status: once it is sealed, so is everything before it. */
const CLOSING_ENTRY: Readonly<Record<string, string>> = { completed: 'command.completed' };
/** Longest a watch follows the ledger after the status it waited for: the sealing window's budget (docs/performance.md). */
const SETTLE_MS = 5_000;
/** How long no new entry means the entries of a status no single entry closes are all sealed. */
const QUIET_MS = 1_000;
const SETTLE_POLL_MS = 200;
