/**
 * Reading an instruction the way a careful model does: quoted material (fenced blocks, block quotes,
 * document tags, quoted strings) is data, not instruction, so it is masked before anything in it can
 * name a tool (DESIGN §1, adversary 1: injected text inside what an agent reads).
 */

/** Blocks of quoted data: fenced code, triple quotes, document-like tags, `>` block quotes. */
const QUOTED_BLOCKS: readonly RegExp[] = [
  /```[^`]*(?:`(?!``)[^`]*)*(?:```|$)/g,
  /"""[^"]*(?:"(?!"")[^"]*)*(?:"""|$)/g,
  /<(document|quote|quoted|untrusted|data|context|tool_output|email|page|record|file)\b[^>]*>[\s\S]*?(?:<\/\1\s*>|$)/gi,
  /^[ \t]*>.*$/gm,
];

/** Quoted strings inside a sentence: "..." (with escapes) and \u201c...\u201d. */
const QUOTED_STRINGS: readonly RegExp[] = [/"(?:[^"\\\n]|\\.)*"/g, /\u201c[^\u201d\n]*\u201d/g];

/**
 * The instruction with quoted regions blanked out, same length and same offsets, so a position found in
 * the mask is a position in the original text. `strings: false` keeps quoted strings (an email address
 * may be quoted in the instruction itself); `blocks: false` keeps blocks (to read JSON inside them).
 */
export function maskQuoted(text: string, { blocks = true, strings = true } = {}): string {
  let masked = text;
  for (const pattern of [...(blocks ? QUOTED_BLOCKS : []), ...(strings ? QUOTED_STRINGS : [])]) {
    masked = masked.replace(pattern, (region) => region.replace(/[^\n]/g, ' '));
  }
  return masked;
}

/** How many opening braces are tried before giving up: bounds the work a hostile text can cause. */
const MAX_JSON_CANDIDATES = 16;

/**
 * The first JSON object starting in `[from, until)`. Braces are balanced on the masked text, where
 * string contents are blank, so a brace inside a string value cannot end the object early.
 */
export function jsonObjectAfter(
  text: string,
  masked: string,
  from: number,
  until = text.length,
): { value: Record<string, unknown>; start: number; end: number } | undefined {
  const closing = closingBraces(masked, from, until);
  let tried = 0;
  for (const [start, end] of closing) {
    if (++tried > MAX_JSON_CANDIDATES) break;
    try {
      const value: unknown = JSON.parse(text.slice(start, end));
      if (value && typeof value === 'object' && !Array.isArray(value)) return { value: value as Record<string, unknown>, start, end };
    } catch {
      // Not JSON after all (prose in braces): try the next brace.
    }
  }
  return undefined;
}

/** Each `{` opened in `[from, until)` that is closed later, with the end of its object, in order of opening. */
function closingBraces(masked: string, from: number, until: number): Map<number, number> {
  const pairs = new Map<number, number>();
  const open: number[] = [];
  for (let i = from; i < masked.length; i += 1) {
    if (masked[i] === '{') {
      if (i < until) {
        open.push(i);
        pairs.set(i, -1);
      } else if (open.length === 0) break;
      else open.push(-1);
    } else if (masked[i] === '}' && open.length > 0) {
      const start = open.pop()!;
      if (start >= 0) pairs.set(start, i + 1);
    }
  }
  for (const [start, end] of pairs) if (end < 0) pairs.delete(start);
  return pairs;
}

/** The pattern that finds a tool named in prose: `read_patient_record` or "read patient record". */
export function toolNamePattern(name: string): RegExp {
  const words = name.split(/[_\s]+/).filter(Boolean).map(escapeRegExp);
  const body = words.length > 1 ? `(?:${escapeRegExp(name)}|${words.join('[ \\t]+')})` : escapeRegExp(name);
  return new RegExp(`(?<![A-Za-z0-9_])${body}(?![A-Za-z0-9_])`, 'i');
}

/** Where each of `names` is first mentioned outside quoted material, in the order they appear. */
export function mentions(masked: string, names: readonly string[]): Array<{ name: string; index: number; end: number }> {
  return names
    .flatMap((name) => {
      const match = toolNamePattern(name).exec(masked);
      return match ? [{ name, index: match.index, end: match.index + match[0].length }] : [];
    })
    .sort((a, b) => a.index - b.index || a.name.localeCompare(b.name));
}

/** The sentence of `text` that contains `index` (sentences end at . ! ? followed by space, or a newline). */
export function sentenceAround(text: string, index: number): string {
  const before = text.slice(0, index);
  const startMatch = /(?:[.!?](?=\s)|\n)[^.!?\n]*$/.exec(before);
  const start = startMatch ? startMatch.index + 1 : 0;
  const endMatch = /[.!?](?=\s|$)|\n/.exec(text.slice(index));
  const end = endMatch ? index + endMatch.index + (endMatch[0] === '\n' ? 0 : 1) : text.length;
  return text.slice(start, end).replace(/\s+/g, ' ').trim();
}

/** `text` cut to `max` characters, with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
