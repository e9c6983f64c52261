import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import * as z from 'zod';
import { REASON_CODES, ReasonCode, SecurityError } from '../errors';

/** Every kind of security decision the ledger records (DESIGN §7, §10). Spelling is a contract. */
export const LEDGER_TYPES = [
  'command.accepted',
  'command.completed',
  'command.failed',
  'message.sent',
  'message.received',
  'message.rejected',
  'directive.requested',
  'directive.signed',
  'directive.denied',
  'approval.recorded',
  /** An approver's passkey, verified and stored by the signer: from then on it signs their votes (DESIGN §5). */
  'passkey.registered',
  'tool.executed',
  'tool.denied',
  'declassified',
  'egress.denied',
  'checkpoint',
  /** A pending entry the sequencer would not seal: malformed, or naming an actor its writer may not record as. */
  'ledger.refused',
  /** A pending entry changed or deleted after it was written (the table's stream carries every change). */
  'ledger.tampered',
] as const;

export type LedgerType = (typeof LEDGER_TYPES)[number];

/** What a caller records: who decided what, about which command, with digests and small metadata only. */
export interface LedgerEntryInput {
  type: LedgerType;
  actor: string;
  commandId?: string;
  reason?: ReasonCode;
  directiveId?: string;
  messageId?: string;
  /** Content digests (hex or base64), never the content itself (DESIGN §7). */
  digests?: Record<string, string>;
  /** Short metadata: identifiers, labels, counts, flags. Never classified plaintext (DESIGN §7). */
  detail?: Record<string, string | number | boolean | null>;
}

/** An entry as stored: the input placed in its chain, linked to its predecessor and sealed by its own hash. */
export type LedgerEntry = LedgerEntryInput & {
  chain: string;
  seq: number;
  /** ISO-8601 time of the append. */
  at: string;
  prevHash: string;
  hash: string;
  /** Where the sequencer took it from: `<writer>#pending/<id>`. Absent on entries written to the sealed log directly. */
  pending?: string;
};

/** Everything `hash` covers: the entry without its own hash. */
export type UnsealedEntry = Omit<LedgerEntry, 'hash'>;

/** The head a new entry links to. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** `prevHash` of the first entry of every chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** Longest text a `detail` value may hold, and the most words: enough for ids and labels, too little for prose. */
export const MAX_DETAIL_TEXT = 256;
export const MAX_DETAIL_WORDS = 16;

const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const DIGEST = /^(?:[0-9a-f]{32,128}|[A-Za-z0-9+/_-]{16,128}={0,2})$/;
// Control characters and lone surrogates would not survive DynamoDB's UTF-8 unchanged and would break the hash.
const UNSTORABLE = /[\p{Cc}\uD800-\uDFFF]/u;

/** A detail string is metadata when it is short, one line, and a handful of words (DESIGN §7: no plaintext). */
function isMetadataText(text: string): boolean {
  return !UNSTORABLE.test(text) && text.trim().split(/\s+/).length <= MAX_DETAIL_WORDS;
}

const identifier = z.string().regex(IDENTIFIER, 'must be an identifier');
const detailValue = z.union([
  z.string().max(MAX_DETAIL_TEXT).refine(isMetadataText, 'detail text must be short metadata, not free text'),
  // Integers only: DynamoDB numbers are decimals, and only integers come back bit-for-bit into the hash.
  z.int(),
  z.boolean(),
  z.null(),
]);

/** Policy for new entries: identifiers, digests and bounded metadata, nothing that could carry plaintext. */
const ledgerEntryInputSchema = z.strictObject({
  type: z.enum(LEDGER_TYPES),
  actor: identifier,
  commandId: identifier.optional(),
  reason: z.enum(REASON_CODES).optional(),
  directiveId: identifier.optional(),
  messageId: identifier.optional(),
  digests: z
    .record(z.string().regex(FIELD_NAME), z.string().regex(DIGEST, 'must be a hex or base64 digest'))
    .refine((d) => Object.keys(d).length <= 16, 'at most 16 digests')
    .optional(),
  detail: z
    .record(z.string().regex(FIELD_NAME), detailValue)
    .refine((d) => Object.keys(d).length <= 32, 'at most 32 detail fields')
    .optional(),
});

/**
 * Parses what a caller wants recorded. Refuses (SCHEMA) anything outside the policy, in particular long or
 * free text in `detail`: the ledger is readable by auditors of every clearance (DESIGN §7). The refusal names
 * the offending fields, never their values.
 */
export function parseLedgerEntryInput(input: unknown): LedgerEntryInput {
  const parsed = ledgerEntryInputSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(entry)'}: ${i.message}`);
    throw new SecurityError('SCHEMA', `ledger entry refused: ${problems.join('; ')}`);
  }
  // DynamoDB cannot store `undefined`, and an absent field must hash the same before and after a round trip.
  return Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) as unknown as LedgerEntryInput;
}

/** sha256 (hex) of the RFC 8785 canonical JSON of every field of the entry except `hash`. */
export function hashEntry(entry: UnsealedEntry): string {
  const { hash: _excluded, ...covered } = entry as UnsealedEntry & { hash?: unknown };
  const canonical = canonicalize(covered);
  if (canonical === undefined) throw new SecurityError('SCHEMA', 'ledger entry has no canonical form');
  return createHash('sha256').update(canonical).digest('hex');
}

/** The entry that follows `head` (or starts the chain): next sequence number, linked and sealed. */
export function linkEntry(
  head: ChainHead | undefined,
  input: LedgerEntryInput,
  place: { chain: string; at: Date; pending?: string },
): LedgerEntry {
  const unsealed: UnsealedEntry = {
    ...parseLedgerEntryInput(input),
    chain: place.chain,
    seq: (head?.seq ?? 0) + 1,
    at: place.at.toISOString(),
    prevHash: head?.hash ?? GENESIS_HASH,
    ...(place.pending !== undefined && { pending: place.pending }),
  };
  return { ...unsealed, hash: hashEntry(unsealed) };
}
