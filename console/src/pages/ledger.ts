import type { EntryView } from '../api';

/** Entry types that record a refusal: something the kernel, the signer or the sequencer would not do. */
const REFUSALS: ReadonlySet<string> = new Set(['message.rejected', 'directive.denied', 'tool.denied', 'egress.denied', 'ledger.refused', 'ledger.tampered']);

/** True for an entry that records a refusal or carries a reason code. */
export function isRefusal(e: EntryView): boolean {
  return REFUSALS.has(e.type) || (typeof e.reason === 'string' && e.reason.length > 0);
}
