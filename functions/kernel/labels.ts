import { SecurityError } from './errors';

/** The classification levels, lowest first (DESIGN §2). The order is the lattice; it is not configurable. */
export const LEVELS = ['UNCLASSIFIED', 'CONFIDENTIAL', 'SECRET', 'TOP_SECRET'] as const;

export type Level = (typeof LEVELS)[number];

/** A classification or clearance: a level and a set of need-to-know compartments (sorted, unique). */
export interface Label {
  readonly level: Level;
  readonly compartments: readonly string[];
}

/** A compartment name; the one pattern every parser of labels (here, the zod schemas, the local state) checks. */
export const COMPARTMENT_NAME = /^[A-Z][A-Z0-9_]{0,31}$/;

/** Rank of a level in the lattice; throws for anything that is not a level (fail closed). */
export function levelRank(level: string): number {
  const rank = (LEVELS as readonly string[]).indexOf(level);
  if (rank < 0) throw new SecurityError('SCHEMA', `unknown classification level ${JSON.stringify(level)}`);
  return rank;
}

export function isLevel(value: unknown): value is Level {
  return typeof value === 'string' && (LEVELS as readonly string[]).includes(value);
}

/** Builds a label in canonical form (compartments sorted and de-duplicated). */
export function label(level: Level, compartments: Iterable<string> = []): Label {
  levelRank(level);
  return Object.freeze({ level, compartments: Object.freeze([...new Set(compartments)].sort()) });
}

/**
 * Parses untrusted input into a label. Fails closed: a missing or unknown level, a malformed or (when the
 * topology's compartments are given) unknown compartment is an error, never a default.
 */
export function parseLabel(input: unknown, knownCompartments?: ReadonlySet<string>): Label {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SecurityError('SCHEMA', 'a label must be an object {level, compartments}');
  }
  const { level, compartments, ...rest } = input as Record<string, unknown>;
  if (Object.keys(rest).length > 0) {
    throw new SecurityError('SCHEMA', `unexpected label field(s): ${Object.keys(rest).join(', ')}`);
  }
  if (!isLevel(level)) throw new SecurityError('SCHEMA', `unknown classification level ${JSON.stringify(level)} (one of ${LEVELS.join(', ')})`);
  const list = compartments === undefined ? [] : compartments;
  if (!Array.isArray(list)) throw new SecurityError('SCHEMA', 'label compartments must be an array');
  for (const c of list) {
    if (typeof c !== 'string' || !COMPARTMENT_NAME.test(c)) {
      throw new SecurityError('SCHEMA', `malformed compartment ${JSON.stringify(c)}`);
    }
    if (knownCompartments && !knownCompartments.has(c)) {
      throw new SecurityError('SCHEMA', `unknown compartment ${JSON.stringify(c)} (one of ${[...knownCompartments].join(', ')})`);
    }
  }
  return label(level, list as string[]);
}

/** `a` dominates `b`: a higher-or-equal level and a superset of compartments (DESIGN §2). */
export function dominates(a: Label, b: Label): boolean {
  if (levelRank(a.level) < levelRank(b.level)) return false;
  const have = new Set(a.compartments);
  return b.compartments.every((c) => have.has(c));
}

/** Least upper bound: the highest level and the union of compartments. The join of nothing is the bottom. */
export function join(...labels: Label[]): Label {
  let rank = 0;
  const compartments = new Set<string>();
  for (const l of labels) {
    rank = Math.max(rank, levelRank(l.level));
    for (const c of l.compartments) compartments.add(c);
  }
  return label(LEVELS[rank], compartments);
}

/** Greatest lower bound: the lowest level and the intersection of compartments. */
export function meet(a: Label, b: Label): Label {
  const rank = Math.min(levelRank(a.level), levelRank(b.level));
  const other = new Set(b.compartments);
  return label(LEVELS[rank], a.compartments.filter((c) => other.has(c)));
}

export function sameLabel(a: Label, b: Label): boolean {
  return formatLabel(a) === formatLabel(b);
}

/** Canonical text form, e.g. `SECRET/MEDICAL` or `TOP_SECRET/FINANCE+MEDICAL`; used in encryption contexts. */
export function formatLabel(l: Label): string {
  const canonical = label(l.level, l.compartments);
  return canonical.compartments.length === 0
    ? canonical.level
    : `${canonical.level}/${canonical.compartments.join('+')}`;
}

/** Inverse of {@link formatLabel}; fails closed like {@link parseLabel}. */
export function parseLabelText(text: string, knownCompartments?: ReadonlySet<string>): Label {
  if (typeof text !== 'string' || text.length === 0) throw new SecurityError('SCHEMA', 'empty label');
  const [level, comps, extra] = text.split('/');
  if (extra !== undefined) throw new SecurityError('SCHEMA', `malformed label ${JSON.stringify(text)}`);
  return parseLabel({ level, compartments: comps ? comps.split('+') : [] }, knownCompartments);
}
