import type { RedactionRule } from '../topology/topology';

/** What one redaction pass did: the cleaned text and how often each rule fired (counts, never the matches). */
export interface Redaction {
  readonly text: string;
  readonly applied: ReadonlyArray<{ readonly rule: string; readonly count: number }>;
}

/**
 * Applies the topology's deterministic redaction rules, in order, before content is written down
 * (DESIGN §6). Rules are regular expressions from the topology, so the same input always yields the same
 * output and the same digest — which is what a declassification directive binds.
 *
 * @example
 * redact('Patient John Smith, door code 4471', topology.redaction).text
 * // 'patient [REDACTED-NAME], [REDACTED-PASSCODE]'
 */
export function redact(text: string, rules: readonly RedactionRule[]): Redaction {
  let out = text;
  const applied: Array<{ rule: string; count: number }> = [];
  for (const rule of rules) {
    const pattern = new RegExp(rule.pattern, rule.flags.includes('g') ? rule.flags : `${rule.flags}g`);
    let count = 0;
    out = out.replace(pattern, () => {
      count += 1;
      return rule.replacement;
    });
    if (count > 0) applied.push({ rule: rule.name, count });
  }
  return { text: out, applied };
}
