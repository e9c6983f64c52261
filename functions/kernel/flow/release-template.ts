/** A release rule's template (DESIGN §6): text with `{field}` placeholders, each filled with one validated field. */

/** One `{field}` placeholder. */
export const PLACEHOLDER = /\{([a-z][a-z0-9_]{0,30})\}/g;

/** The `{field}` placeholders of a template, in order (for the topology's invariants). */
export function templateFields(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}
