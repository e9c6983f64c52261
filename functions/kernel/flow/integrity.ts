/**
 * Integrity (DESIGN §5, §6): beside its confidentiality label, every value is trusted or untrusted. Trusted are the
 * user's own words and capabilities (sealed by the API for the signer) and what the topology says; untrusted is
 * everything a model produced, because a model's output may be chosen by whatever it read (a web page, an email, a
 * tool's output). An effector's proposed call is model output, so its arguments are untrusted until a trusted
 * source names them; only then may they choose a high-priority action's target.
 */
export type Integrity = 'trusted' | 'untrusted';

/** What vouches for a value a model proposed: only these make it trusted. */
export interface TrustedSources {
  /** A capability the user granted names the value itself (an exact value or one of a list). */
  readonly namedByCapability: boolean;
  /** Values the topology trusts for the argument (an address book). */
  readonly knownValues: readonly string[];
  /** The user's own words, when the argument's policy lets its value come from them. */
  readonly userText?: string;
}

/**
 * The integrity of a value a model proposed (DESIGN §5): untrusted, as all model output is, unless a trusted source
 * names it: a capability, the topology's known values (compared without case), or the user's own text.
 */
export function integrityOf(value: unknown, sources: TrustedSources): Integrity {
  if (sources.namedByCapability) return 'trusted';
  const canonical = typeof value === 'string' ? canonicalValue(value) : undefined;
  if (canonical !== undefined && sources.knownValues.some((v) => v.toLowerCase() === canonical)) return 'trusted';
  return sources.userText !== undefined && appearsInText(sources.userText, value) ? 'trusted' : 'untrusted';
}

/** Characters that continue a token (a word, a number, an address): a value must not be part of a longer one. */
const TOKEN_CHAR = /[\p{L}\p{N}\p{M}_@+\-]/u;

/** Text compared as people read it: compatibility forms folded (full-width, ligatures), format characters removed, case folded. */
export function foldForComparison(text: string): string {
  return text.normalize('NFKC').replace(/\p{Cf}/gu, '').toLowerCase();
}

/**
 * True when `value` appears in `text` as a whole token: `P-1003` in "prescribe for P-1003." but not in "P-10031",
 * `a@b.org` in "email a@b.org," but not in "xa@b.org". The text is folded ({@link foldForComparison}); the value must
 * already be canonical ({@link canonicalValue}). Only strings and numbers can appear; nothing else ever does.
 */
export function appearsInText(text: string, value: unknown): boolean {
  if (typeof value !== 'string' && typeof value !== 'number') return false;
  const needle = canonicalValue(String(value));
  if (needle === undefined || needle.trim().length === 0) return false;
  const haystack = foldForComparison(text);
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) {
    if (!continuesToken(haystack, at - 1, -1) && !continuesToken(haystack, at + needle.length, 1)) return true;
  }
  return false;
}

/**
 * A value as it is compared with trusted text: lower-cased, and only when it is already in its compatibility form with
 * no format characters. A value hiding a zero-width space or a full-width letter is not the value the user wrote, even
 * when it looks the same, so it is never found (undefined).
 */
export function canonicalValue(value: string): string | undefined {
  if (value !== value.normalize('NFKC') || /\p{Cf}/u.test(value)) return undefined;
  return value.toLowerCase();
}

/** True when the character at `i` extends the token next to it (a `.` does only when a token character follows it outward). */
function continuesToken(text: string, i: number, direction: 1 | -1): boolean {
  const c = text[i];
  if (c === undefined) return false;
  if (TOKEN_CHAR.test(c)) return true;
  return c === '.' && text[i + direction] !== undefined && TOKEN_CHAR.test(text[i + direction]);
}
