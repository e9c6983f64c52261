/**
 * Capabilities as people write them (DESIGN §5), one per line, in the syntax of `agentsec ask --allow`:
 * - tool names, comma-separated: `send_email,prescribe` (any arguments);
 * - one capability: `send_email:to=frontdesk@hospital.example`, constraints after the colon, comma-separated:
 *   `arg=value` (exact), `arg=a|b` (one of a list), `arg~regex` (a pattern the whole value matches), `maxUses=N`;
 * - one capability or a list of them as JSON: `{"tool":"send_email","args":{"to":["a@x.org","b@x.org"]},"maxUses":2}`.
 * Only the syntax is read here; the API checks tools, arguments and patterns against the topology (400 `SCHEMA`).
 *
 * @example
 * parseCapabilities('send_email:to=frontdesk@hospital.example\nprescribe:patientId=P-1003,maxUses=1');
 */

export type ArgConstraint = string | number | boolean | Array<string | number | boolean> | { pattern: string };
export type AllowEntry = string | { tool: string; args?: Record<string, ArgConstraint>; maxUses?: number };

export class CapabilityError extends Error {}

const ARGUMENT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Every non-empty line of `text` as `allow` entries. */
export function parseCapabilities(text: string): AllowEntry[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .flatMap(parseLine);
}

function parseLine(line: string): AllowEntry[] {
  if (line.startsWith('{') || line.startsWith('[')) return parseJson(line);
  const colon = line.indexOf(':');
  if (colon < 0) return line.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  const tool = line.slice(0, colon).trim();
  if (tool.length === 0) throw new CapabilityError(`"${line}": the tool name is missing before the colon`);
  const args: Record<string, ArgConstraint> = {};
  let maxUses: number | undefined;
  for (const part of line.slice(colon + 1).split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const m = /^([^=~]+)([=~])(.*)$/s.exec(part);
    const name = m?.[1].trim() ?? '';
    if (!m || !ARGUMENT_NAME.test(name) || m[3].length === 0) {
      throw new CapabilityError(`"${line}": "${part}" is not arg=value, arg=a|b, arg~pattern or maxUses=N`);
    }
    if (name === 'maxUses' && m[2] === '=') {
      if (!/^\d{1,4}$/.test(m[3])) throw new CapabilityError(`"${line}": maxUses must be a whole number`);
      maxUses = Number(m[3]);
    } else {
      args[name] = m[2] === '~' ? { pattern: m[3] } : m[3].includes('|') ? m[3].split('|') : m[3];
    }
  }
  return [{ tool, ...(Object.keys(args).length ? { args } : {}), ...(maxUses !== undefined ? { maxUses } : {}) }];
}

function parseJson(line: string): AllowEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new CapabilityError(`"${line}" is not JSON`);
  }
  return (Array.isArray(value) ? value : [value]) as AllowEntry[];
}

/** A short text for people: `send_email(to=frontdesk@hospital.example) ×1`, as the CLI writes it. */
export function describeCapability(capability: { tool: string; args?: Record<string, unknown>; maxUses?: number }): string {
  const args = Object.entries(capability.args ?? {}).map(([k, c]) =>
    typeof c === 'object' && c !== null && !Array.isArray(c)
      ? `${k}~/${String((c as { pattern?: unknown }).pattern)}/`
      : `${k}=${(Array.isArray(c) ? c : [c]).map(String).join('|')}`,
  );
  return `${capability.tool}${args.length ? `(${args.join(', ')})` : ''}${capability.maxUses ? ` ×${capability.maxUses}` : ''}`;
}
