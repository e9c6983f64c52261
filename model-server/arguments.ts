import { escapeRegExp } from './instruction';

/**
 * Tool arguments a model would write when the instruction gives none: derived from the tool's JSON Schema
 * and the instruction text, deterministically, so a scenario replays the same call every time.
 */

type Schema = Record<string, unknown>;

/** Where values come from: the whole instruction and the sentence that asked for the tool. */
export interface ArgumentContext {
  readonly text: string;
  readonly sentence: string;
}

const SENTENCE_FIELDS = /^(?:query|q|text|task|body|message|content|prompt|question|instruction|request|note|notes|reason|summary|subject|description|topic)$/i;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/;
const PATIENT_ID = /\bP-\d+\b/;
const DATE_TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/;
const DATE = /\b\d{4}-\d{2}-\d{2}\b/;
/** The drug an instruction prescribes: "prescribe amoxicillin for P-1003". */
const PRESCRIBED = /\bprescribe\s+(?!for\b)([A-Za-z][A-Za-z0-9-]{1,40})/i;
const DATE_TIME_FIELD = /^(?:when|at|time|start|end|datetime|starts?_?at)$/i;
const DEFAULT_DATE_TIME = '2030-01-01T09:00:00Z';
const DEFAULT_DATE = '2030-01-01';
const MAX_SENTENCE = 300;

/** Arguments for a tool: every required property of its parameters schema, filled from the context. */
export function synthesizeArguments(parameters: Schema | undefined, context: ArgumentContext): Record<string, unknown> {
  if (!parameters) return {};
  const value = valueFor(parameters, '', context, parameters);
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function valueFor(schema: Schema, field: string, context: ArgumentContext, root: Schema, depth = 0): unknown {
  if (depth > 8) return null;
  const resolved = resolveRef(schema, root);
  if ('const' in resolved) return resolved.const;
  if (Array.isArray(resolved.enum) && resolved.enum.length > 0) return enumValue(resolved.enum, context.text);
  const branch = (resolved.anyOf ?? resolved.oneOf ?? resolved.allOf) as Schema[] | undefined;
  if (Array.isArray(branch) && branch.length > 0) {
    const chosen = branch.find((b) => resolveRef(b, root).type !== 'null') ?? branch[0];
    return valueFor(chosen, field, context, root, depth + 1);
  }
  switch (primaryType(resolved)) {
    case 'object':
      return objectFor(resolved, context, root, depth);
    case 'array':
      return typeof resolved.minItems === 'number' && resolved.minItems > 0 && resolved.items
        ? [valueFor(resolved.items as Schema, field, context, root, depth + 1)]
        : [];
    case 'integer':
    case 'number':
      return typeof resolved.minimum === 'number' && resolved.minimum > 1 ? resolved.minimum : 1;
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return stringFor(resolved, field, context);
  }
}

function objectFor(schema: Schema, context: ArgumentContext, root: Schema, depth: number): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  const out: Record<string, unknown> = {};
  for (const name of required) {
    out[name] = valueFor(properties[name] ?? {}, name, context, root, depth + 1);
  }
  return out;
}

function stringFor(schema: Schema, field: string, context: ArgumentContext): string {
  let value = candidateString(schema, field, context);
  if (typeof schema.pattern === 'string' && !matches(schema.pattern, value)) {
    value = firstMatch(schema.pattern, context.text) ?? value;
  }
  return typeof schema.maxLength === 'number' ? value.slice(0, schema.maxLength) : value;
}

function candidateString(schema: Schema, field: string, context: ArgumentContext): string {
  const format = schema.format;
  if (format === 'email' || /^(?:to|email|recipient|address)$/i.test(field)) {
    return EMAIL.exec(context.text)?.[0] ?? 'recipient@example.invalid';
  }
  if (/patient_?id/i.test(field)) return PATIENT_ID.exec(context.text)?.[0] ?? 'P-0';
  if (/^(?:drug|medication|medicine)$/i.test(field)) return PRESCRIBED.exec(context.sentence)?.[1] ?? PRESCRIBED.exec(context.text)?.[1] ?? `sample-${field}`;
  if (format === 'date-time' || DATE_TIME_FIELD.test(field) || /(?:Time|At|_at|_time)$/.test(field)) {
    return DATE_TIME.exec(context.text)?.[0] ?? DEFAULT_DATE_TIME;
  }
  if (format === 'date' || /^date$|Date$|_date$/.test(field)) return DATE.exec(context.text)?.[0] ?? DEFAULT_DATE;
  if (SENTENCE_FIELDS.test(field)) return context.sentence.slice(0, MAX_SENTENCE);
  return `sample-${field || 'value'}`;
}

/** The enum value the instruction mentions first, else the first one. */
function enumValue(values: unknown[], text: string): unknown {
  const lower = text.toLowerCase();
  const mentioned = values
    .filter((v): v is string => typeof v === 'string' && v.length > 0)
    .map((v) => ({ v, at: lower.search(new RegExp(`\\b${escapeRegExp(v.toLowerCase())}\\b`)) }))
    .filter((m) => m.at >= 0)
    .sort((a, b) => a.at - b.at);
  return mentioned[0]?.v ?? values[0];
}

function primaryType(schema: Schema): string | undefined {
  if (Array.isArray(schema.type)) return (schema.type as string[]).find((t) => t !== 'null') ?? 'null';
  if (typeof schema.type === 'string') return schema.type;
  return schema.properties ? 'object' : undefined;
}

function resolveRef(schema: Schema, root: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return schema;
  let node: unknown = root;
  for (const key of ref.slice(2).split('/')) node = (node as Schema | undefined)?.[key];
  return node && typeof node === 'object' ? (node as Schema) : {};
}

function matches(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(value);
  } catch {
    return true;
  }
}

function firstMatch(pattern: string, text: string): string | undefined {
  try {
    const unanchored = pattern.replace(/^\^/, '').replace(/\$$/, '');
    return new RegExp(unanchored, 'u').exec(text)?.[0] || undefined;
  } catch {
    return undefined;
  }
}
