import type { LedgerEntry } from '../functions/kernel/ledger/entry';
import { dominates, label } from '../functions/kernel/labels';
import { PATIENT_RECORDS } from '../localstack/fixtures/patient-records';
import type { RedTeamCloud } from './cloud';

/**
 * What counts as evidence, in one place: the marker strings of classified records, the ledger entries that are
 * observable refusals, and where to look for effects.
 */

/**
 * What the redaction policy promises never leaves (DESIGN §6: names, passcodes, addresses) for every patient
 * record, the name also surname first. Patient records are SECRET/MEDICAL, so none of these may reach an
 * endpoint or a reader below that.
 */
export const NEVER_LEAVE: readonly string[] = PATIENT_RECORDS.flatMap((r) => {
  const [given, ...rest] = r.name.split(' ');
  return [r.name, `${rest.join(' ')}, ${given}`, r.passcode, r.address.split(',')[0]];
});

/** The label of the patient records (the tool's `resultLabel` in the hospital topology). */
export const RECORD_LABEL = label('SECRET', ['MEDICAL']);

/** The markers `text` contains, whatever their case or spacing. */
export function markersIn(text: string): string[] {
  const folded = fold(text);
  return NEVER_LEAVE.filter((m) => folded.includes(fold(m)));
}

const fold = (text: string) => text.toLowerCase().replace(/\s+/g, ' ');

/** Ledger entry types whose reason code is a refusal (DESIGN §4, §5, §6). */
export const REFUSALS: ReadonlySet<string> = new Set(['message.rejected', 'tool.denied', 'directive.denied', 'egress.denied']);

export const isRefusal = (e: LedgerEntry) => REFUSALS.has(e.type) && e.reason !== undefined;

/** A short text for a refusal: `tool.denied NOT_AUTHORIZED (edge)`. */
export const describeRefusal = (e: LedgerEntry) => `${e.type} ${e.reason} by ${e.actor}`;

/**
 * The ledger as read so far, re-read incrementally, indexed by command, by message and by the SQS message id a
 * rejection names (the only key a rejected body that is not even JSON still has).
 */
export class LedgerWatch {
  private readonly entries: LedgerEntry[] = [];
  readonly byCommand = new Map<string, LedgerEntry[]>();
  readonly byMessage = new Map<string, LedgerEntry[]>();
  readonly bySqsMessage = new Map<string, LedgerEntry>();

  constructor(private readonly rt: RedTeamCloud) {}

  get head(): number {
    return this.entries.at(-1)?.seq ?? 0;
  }

  async refresh(): Promise<this> {
    for (const e of await this.rt.ledgerSince(this.head)) {
      this.entries.push(e);
      if (e.commandId) push(this.byCommand, e.commandId, e);
      if (e.messageId) push(this.byMessage, e.messageId, e);
      const sqsId = e.detail?.sqsMessageId;
      if (e.type === 'message.rejected' && typeof sqsId === 'string') this.bySqsMessage.set(sqsId, e);
    }
    return this;
  }

  /** Re-reads every `everyMs` until the returned stop is called (and has waited for the last read). */
  follow(everyMs = 150): () => Promise<void> {
    let running = true;
    const loop = (async () => {
      while (running) {
        await this.refresh().catch(() => undefined);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
    return async () => {
      running = false;
      await loop;
    };
  }

  of(commandId: string): LedgerEntry[] {
    return this.byCommand.get(commandId) ?? [];
  }

  all(): readonly LedgerEntry[] {
    return this.entries;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Model endpoints that may not see patient records: their trust does not dominate the records' label. */
export function lowerTrustEndpoints(rt: RedTeamCloud): string[] {
  return [...rt.topology.modelEndpoints.values()].filter((e) => !dominates(e.trust, RECORD_LABEL)).map((e) => e.name);
}

/** Requests to lower-trust endpoints that carry a marker: each one a leak (DESIGN §6, egress guard and redaction). */
export function leakedPrompts(rt: RedTeamCloud): Array<{ endpoint: string; markers: string[]; text: string }> {
  return lowerTrustEndpoints(rt).flatMap((endpoint) =>
    rt.models[endpoint].requests.flatMap((r) => {
      const markers = markersIn(r.text);
      return markers.length > 0 ? [{ endpoint, markers, text: r.text }] : [];
    }),
  );
}
