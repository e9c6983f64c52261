import { SecurityError } from '../errors';
import { PLACEHOLDER } from './release-template';
import { Label, dominates, formatLabel } from '../labels';
import type { ReleaseField, ReleaseRule, Topology } from '../topology/topology';

/**
 * Release rules (DESIGN §6): the one way content goes down without a human reading it. A release is built only
 * from what a rule names — typed fields put into the rule's fixed template — and everything else is refused. It
 * never deletes what a block-list recognizes, so what no one thought of does not pass.
 */

/** What core's model proposes for a write-down: a rule of the topology and a value for each of its fields. */
export interface ReleaseProposal {
  readonly rule: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A release built by a rule: the released text and the canonical values it was built from. */
export interface RuleBuiltRelease {
  readonly rule: string;
  /** Each field's value as released: normalized, type-checked, in canonical form. */
  readonly fields: Readonly<Record<string, string>>;
  readonly text: string;
}

/** The longest raw field value looked at: no released field is longer, and nothing longer is normalized. */
const MAX_RAW_FIELD = 64;
/** Printable ASCII: no format, control, zero-width or non-Latin characters survive into a structured field. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const TIME = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const INTEGER = /^-?[0-9]{1,10}$/;

/**
 * Builds the release `proposal` asks for, or throws: SCHEMA when a field does not fit its type (or one is missing
 * or extra), NOT_AUTHORIZED when the rule does not release from `content` to `receiver` at `lowered`. Core calls it
 * to build what it sends; the signer calls it again to check what core claims it built (DESIGN §5, §6).
 *
 * @example
 * buildRelease(topology, { rule: 'car-park-level', fields: { level: '２' } }, 'edge', label('SECRET', ['MEDICAL']), label('UNCLASSIFIED')).text
 * // 'lookup_public_info: car parking on level 2 of the hospital car park'
 */
export function buildRelease(topology: Topology, proposal: ReleaseProposal, receiver: string, content: Label, lowered: Label): RuleBuiltRelease {
  const rule = typeof proposal.rule === 'string' ? topology.release.get(proposal.rule) : undefined;
  if (!rule) throw new SecurityError('NOT_AUTHORIZED', 'no release rule of that name');
  assertRuleApplies(rule, receiver, content, lowered);
  const given = proposal.fields;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new SecurityError('SCHEMA', `release ${rule.name}: fields must be an object`);
  const names = Object.keys(rule.fields);
  const extra = Object.keys(given).filter((n) => !Object.hasOwn(rule.fields, n));
  if (extra.length > 0) throw new SecurityError('SCHEMA', `release ${rule.name}: fields the rule does not name`);
  const fields: Record<string, string> = {};
  for (const n of names) {
    if (!Object.hasOwn(given, n)) throw new SecurityError('SCHEMA', `release ${rule.name}: field ${n} is missing`);
    fields[n] = releasedValue(rule.fields[n], given[n], `release ${rule.name}: field ${n}`);
  }
  return { rule: rule.name, fields, text: fillTemplate(rule.template, fields) };
}

/** NOT_AUTHORIZED unless the rule releases to this receiver, from content at most `from`, to a label at least `label`. */
function assertRuleApplies(rule: ReleaseRule, receiver: string, content: Label, lowered: Label): void {
  if (!rule.to.includes(receiver)) throw new SecurityError('NOT_AUTHORIZED', `release ${rule.name} does not release to ${receiver}`);
  if (!dominates(rule.from, content)) {
    throw new SecurityError('NOT_AUTHORIZED', `release ${rule.name} does not release from ${formatLabel(content)}`);
  }
  if (!dominates(lowered, rule.label)) {
    throw new SecurityError('NOT_AUTHORIZED', `release ${rule.name} does not release down to ${formatLabel(lowered)}`);
  }
}

/**
 * One field's released value: NFKC first (full-width digits become ASCII ones), then printable ASCII only (a
 * zero-width space, an accent or a Cyrillic look-alike is refused, never passed through), then the type, whole.
 */
export function releasedValue(field: ReleaseField, raw: unknown, what = 'field'): string {
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'number' && Number.isSafeInteger(raw) && (field.type === 'integer' || field.type === 'digit')) text = String(raw);
  else throw new SecurityError('SCHEMA', `${what} must be a string`);
  if (text.length > MAX_RAW_FIELD) throw new SecurityError('SCHEMA', `${what} is too long`);
  const value = text.normalize('NFKC');
  if (!PRINTABLE_ASCII.test(value)) throw new SecurityError('SCHEMA', `${what} has characters outside printable ASCII`);
  const out = typed(field, value);
  if (out === undefined) throw new SecurityError('SCHEMA', `${what} is not a ${field.type}`);
  return out;
}

/** The canonical form of `value` for the field's type, or undefined when it does not fit. */
function typed(field: ReleaseField, value: string): string | undefined {
  switch (field.type) {
    case 'digit':
      return /^[0-9]$/.test(value) ? value : undefined;
    case 'integer': {
      if (!INTEGER.test(value)) return undefined;
      const n = Number(value);
      return n >= field.min && n <= field.max ? String(n) : undefined;
    }
    case 'enum':
      return field.values.find((v) => v === value);
    case 'time':
      return TIME.test(value) ? value : undefined;
    case 'timeRange': {
      const [start, end, ...rest] = value.split('-');
      if (rest.length > 0 || !TIME.test(start ?? '') || !TIME.test(end ?? '')) return undefined;
      return start < end ? `${start}-${end}` : undefined;
    }
    case 'date':
      return isCalendarDate(value) ? value : undefined;
    case 'pattern':
      // Wrapped again so a top-level alternation in the topology's pattern cannot unanchor it.
      return value.length <= field.maxLength && new RegExp(`^(?:${field.pattern})$`).test(value) ? value : undefined;
  }
}

function isCalendarDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/** The template with each `{field}` replaced by its released value; the template itself comes from the topology. */
export function fillTemplate(template: string, fields: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (_, n: string) => {
    const v = fields[n];
    if (v === undefined) throw new SecurityError('SCHEMA', `template names field ${n}, which has no value`);
    return v;
  });
}

export { templateFields } from './release-template';

/** The release rules that release to `receiver` (what core offers its model for that delegation). */
export function rulesReleasingTo(topology: Topology, receiver: string): ReleaseRule[] {
  return [...topology.release.values()].filter((r) => r.to.includes(receiver));
}

const TIME_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]$';

/** The JSON Schema of one field, as core's model is shown it (the kernel checks the value again, whatever it says). */
function fieldJsonSchema(field: ReleaseField): Record<string, unknown> {
  switch (field.type) {
    case 'digit':
      return { type: 'string', pattern: '^[0-9]$' };
    case 'integer':
      return { type: 'string', pattern: '^-?[0-9]+$', description: `an integer from ${field.min} to ${field.max}` };
    case 'enum':
      return { type: 'string', enum: [...field.values] };
    case 'time':
      return { type: 'string', pattern: TIME_PATTERN, description: 'HH:MM, 24-hour' };
    case 'timeRange':
      return { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM-HH:MM' };
    case 'date':
      return { type: 'string', format: 'date', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' };
    case 'pattern':
      return { type: 'string', pattern: field.pattern, maxLength: field.maxLength };
  }
}

/**
 * The JSON Schema of a release proposal for `rules`, offered to core's model as the optional `release` argument of a
 * delegation: one branch per rule, `{rule, fields}`. Undefined when no rule releases to the receiver.
 */
export function releaseProposalJsonSchema(rules: readonly ReleaseRule[]): Record<string, unknown> | undefined {
  if (rules.length === 0) return undefined;
  return {
    description: 'When the receiver is not cleared for the task: what to release instead, as a rule and its fields. The receiver gets only the rule\'s template filled with the fields.',
    anyOf: rules.map((r) => ({
      type: 'object',
      description: `${r.description} Released as: "${r.template}"`,
      properties: {
        rule: { const: r.name },
        fields: {
          type: 'object',
          properties: Object.fromEntries(Object.entries(r.fields).map(([n, f]) => [n, fieldJsonSchema(f)])),
          required: Object.keys(r.fields),
          additionalProperties: false,
        },
      },
      required: ['rule', 'fields'],
      additionalProperties: false,
    })),
  };
}
