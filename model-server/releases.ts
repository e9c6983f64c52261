import { escapeRegExp } from './instruction';

/**
 * A release proposal (DESIGN §6) as a model would write it for a delegation that writes down: core offers its
 * release rules as the `release` argument's branches; the offline model picks the rule whose name's words the
 * sentence says (car park level, visiting hours, appointment slot) and reads each field's value from the sentence.
 * Nothing is proposed unless every field is found: the kernel then asks a human to release free text instead.
 */

type Schema = Record<string, unknown>;

export function proposeRelease(release: Schema | undefined, sentence: string): { rule: string; fields: Record<string, string> } | undefined {
  const branches = Array.isArray(release?.anyOf) ? (release.anyOf as Schema[]) : [];
  for (const branch of branches) {
    const properties = (branch.properties ?? {}) as Record<string, Schema>;
    const rule = properties.rule?.const;
    if (typeof rule !== 'string' || !rule.split('-').every((w) => new RegExp(`\\b${escapeRegExp(w)}`, 'i').test(sentence))) continue;
    const fields: Record<string, string> = {};
    for (const [name, field] of Object.entries((properties.fields?.properties ?? {}) as Record<string, Schema>)) {
      const value = valueIn(field, sentence);
      if (value === undefined) break;
      fields[name] = value;
    }
    if (Object.keys(fields).length === Object.keys((properties.fields?.properties ?? {}) as Schema).length) return { rule, fields };
  }
  return undefined;
}

function valueIn(field: Schema, sentence: string): string | undefined {
  if (Array.isArray(field.enum)) {
    return (field.enum as unknown[]).find((v): v is string => typeof v === 'string' && new RegExp(`\\b${escapeRegExp(v)}\\b`, 'i').test(sentence));
  }
  if (typeof field.pattern !== 'string') return undefined;
  try {
    const unanchored = field.pattern.replace(/^\^/, '').replace(/\$$/, '');
    return new RegExp(unanchored).exec(sentence)?.[0] || undefined;
  } catch {
    return undefined;
  }
}
