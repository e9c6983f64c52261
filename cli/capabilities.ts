import { AllowEntry, ArgConstraint, allowEntrySchema, argumentNameSchema, describeCapability, toCapabilities } from '../functions/kernel/directives/capabilities';
import { describeIssues } from '../functions/kernel/schemas';
import { CliError } from './errors';

/**
 * `--allow` as people write it (DESIGN §5). Each occurrence is one of:
 * - tool names, comma-separated: `send_email,prescribe` (any arguments);
 * - one capability: `send_email:to=frontdesk@hospital.example` with constraints after the colon, comma-separated:
 *   `arg=value` (exact), `arg=a|b` (one of a list), `arg~regex` (a pattern the whole value matches), `maxUses=N`;
 * - one capability or a list of them as JSON: `{"tool":"send_email","args":{"to":["a@x.org","b@x.org"]},"maxUses":2}`.
 *
 * @example
 * parseAllow(['send_email:to=frontdesk@hospital.example', 'prescribe:patientId=P-1003,maxUses=1']);
 */
export function parseAllow(options: readonly string[]): AllowEntry[] {
  return options.flatMap((option) => parseOne(option.trim()));
}

function parseOne(option: string): AllowEntry[] {
  if (option.startsWith('{') || option.startsWith('[')) return parseJson(option);
  const colon = option.indexOf(':');
  if (colon < 0) return option.split(',').map((t) => t.trim()).filter((t) => t.length > 0).map((t) => checked(t, option));
  const tool = option.slice(0, colon).trim();
  const args: Record<string, ArgConstraint> = {};
  let maxUses: number | undefined;
  for (const part of option.slice(colon + 1).split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const m = /^([^=~]+)([=~])(.*)$/s.exec(part);
    const name = m?.[1].trim() ?? '';
    if (!m || !argumentNameSchema.safeParse(name).success || m[3].length === 0) {
      throw new CliError(`--allow ${JSON.stringify(option)}: "${part}" is not arg=value, arg=a|b, arg~pattern or maxUses=N`);
    }
    if (name === 'maxUses' && m[2] === '=') {
      if (!/^\d{1,4}$/.test(m[3])) throw new CliError(`--allow ${JSON.stringify(option)}: maxUses must be a whole number`);
      maxUses = Number(m[3]);
    } else {
      args[name] = m[2] === '~' ? { pattern: m[3] } : m[3].includes('|') ? m[3].split('|') : m[3];
    }
  }
  return [checked({ tool, ...(Object.keys(args).length ? { args } : {}), ...(maxUses !== undefined ? { maxUses } : {}) }, option)];
}

function parseJson(option: string): AllowEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(option);
  } catch {
    throw new CliError(`--allow ${JSON.stringify(option)} is not JSON`);
  }
  return (Array.isArray(value) ? value : [value]).map((v) => checked(v, option));
}

function checked(entry: unknown, option: string): AllowEntry {
  const parsed = allowEntrySchema.safeParse(entry);
  if (!parsed.success) throw new CliError(`--allow ${JSON.stringify(option)}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** One line per capability, for `status` and `ask`. */
export function describeAllow(entries: readonly AllowEntry[]): string {
  return toCapabilities(entries).map(describeCapability).join('; ');
}
