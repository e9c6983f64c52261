import * as z from 'zod';
import { topologySchema } from '../topology/schema';

/**
 * Capabilities (DESIGN §5): what a user's command allows, down to the arguments. An `allow` entry is a tool name
 * (any arguments) or `{tool, args?, maxUses?}`, where `args` constrains each named argument to an exact value, a
 * list of values, or a pattern the whole value must match. The signer grants a directive only for a call that
 * fits one of the command's capabilities and only while that capability has uses left.
 */

const toolNameSchema = topologySchema.shape.tools.keyType;

/** The longest value or pattern a capability may name. */
export const MAX_CONSTRAINT_LENGTH = 512;

const scalarSchema = z.union([z.string().min(1).max(MAX_CONSTRAINT_LENGTH), z.number().finite(), z.boolean()]);
export type Scalar = z.output<typeof scalarSchema>;

const patternSchema = z
  .string()
  .min(1)
  .max(256)
  .refine((p) => compiles(p), 'must be an ECMAScript regular expression');

/** One argument's constraint: an exact value, one of a list of values, or a pattern matching the whole value. */
export const argConstraintSchema = z.union([
  scalarSchema,
  z.array(scalarSchema).min(1).max(64),
  z.strictObject({ pattern: patternSchema }),
]);
export type ArgConstraint = z.output<typeof argConstraintSchema>;

export const argumentNameSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be an argument name');

export const capabilitySchema = z.strictObject({
  tool: toolNameSchema,
  args: z.record(argumentNameSchema, argConstraintSchema).optional(),
  /** How many directives this capability may authorize; a critical tool's capability defaults to one. */
  maxUses: z.number().int().min(1).max(1000).optional(),
});
export type Capability = z.output<typeof capabilitySchema>;

/** An `allow` entry as the HTTP API and the commands table take it: a tool name, or a capability. */
export const allowEntrySchema = z.union([toolNameSchema, capabilitySchema]);
export type AllowEntry = z.output<typeof allowEntrySchema>;

/** Every entry as a capability: a bare tool name allows the tool with any arguments. */
export function toCapabilities(entries: readonly AllowEntry[]): Capability[] {
  return entries.map((e) => (typeof e === 'string' ? { tool: e } : e));
}

/** The uses a capability allows: its `maxUses`, or one for a critical tool, or no limit (undefined). */
export function usesAllowed(capability: Capability, priority: 'low' | 'high' | 'critical'): number | undefined {
  return capability.maxUses ?? (priority === 'critical' ? 1 : undefined);
}

/** Where a call's argument falls outside a capability, or undefined when the call fits it. */
export function misfit(capability: Capability, tool: string, args: unknown): string | undefined {
  if (capability.tool !== tool) return `is for ${capability.tool}`;
  const given = (typeof args === 'object' && args !== null && !Array.isArray(args) ? args : {}) as Record<string, unknown>;
  for (const [name, constraint] of Object.entries(capability.args ?? {})) {
    if (!Object.hasOwn(given, name)) return `needs argument ${name}`;
    if (!satisfies(constraint, given[name])) return `does not allow this value of ${name}`;
  }
  return undefined;
}

/** True when the capability names `value` for `arg` itself (an exact value or one of a list), not only a pattern. */
export function namesValue(capability: Capability, arg: string, value: unknown): boolean {
  const constraint = capability.args?.[arg];
  if (constraint === undefined || isPattern(constraint)) return false;
  return (Array.isArray(constraint) ? constraint : [constraint]).some((v) => sameScalar(v, value));
}

/** A short text for people: `send_email(to=frontdesk@hospital.example) ×1`. */
export function describeCapability(capability: Capability): string {
  const args = Object.entries(capability.args ?? {}).map(([k, c]) =>
    isPattern(c) ? `${k}~/${c.pattern}/` : `${k}=${(Array.isArray(c) ? c : [c]).map(String).join('|')}`,
  );
  return `${capability.tool}${args.length ? `(${args.join(', ')})` : ''}${capability.maxUses ? ` ×${capability.maxUses}` : ''}`;
}

function satisfies(constraint: ArgConstraint, value: unknown): boolean {
  if (isPattern(constraint)) {
    if (typeof value !== 'string' && typeof value !== 'number') return false;
    return new RegExp(`^(?:${constraint.pattern})$`, 'u').test(String(value));
  }
  return (Array.isArray(constraint) ? constraint : [constraint]).some((v) => sameScalar(v, value));
}

function isPattern(c: ArgConstraint): c is { pattern: string } {
  return typeof c === 'object' && c !== null && !Array.isArray(c);
}

/** Equal values; a number and its decimal text are equal (`doseMg=500` on the command line names 500). */
function sameScalar(constraint: Scalar, value: unknown): boolean {
  if (constraint === value) return true;
  const numeric = (a: unknown, b: unknown) => typeof a === 'number' && typeof b === 'string' && b.trim() !== '' && Number(b) === a;
  return numeric(constraint, value) || numeric(value, constraint);
}

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}
