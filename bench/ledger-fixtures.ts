/** Ledger entries for benchmarks and tests: realistic, varied, chained in memory. */
import { createHash } from 'node:crypto';
import { LedgerEntry, LedgerEntryInput, LedgerType, LEDGER_TYPES, linkEntry } from '../functions/kernel/ledger/entry';

export const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/** A realistic entry with every optional field set, varied by `i`. */
export function sampleInput(i: number, type: LedgerType = LEDGER_TYPES[i % (LEDGER_TYPES.length - 1)]): LedgerEntryInput {
  return {
    type,
    actor: ['core', 'analyst', 'signer', 'user:alice'][i % 4],
    commandId: `cmd-${i % 5}`,
    reason: (['READ_UP', 'NOT_AUTHORIZED', 'REPLAY'] as const)[i % 3],
    directiveId: `dir-${i}`,
    messageId: `msg-${i}`,
    digests: { content: digest(`content ${i}`) },
    detail: { label: 'SECRET/MEDICAL', count: i, allowed: i % 2 === 0, note: null },
  };
}

/** An in-memory chain of `n` valid entries. */
export function buildChain(n: number, chain = 'main'): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  const at = new Date('2030-01-01T00:00:00.000Z');
  for (let i = 1; i <= n; i++) entries.push(linkEntry(entries[i - 2], sampleInput(i), { chain, at }));
  return entries;
}
