import fc from 'fast-check';
import { isSecurityError } from '../../functions/kernel/errors';
import {
  LEVELS,
  Label,
  dominates,
  formatLabel,
  isLevel,
  join,
  label,
  levelRank,
  meet,
  parseLabel,
  parseLabelText,
} from '../../functions/kernel/labels';

const COMPARTMENTS = ['MEDICAL', 'FINANCE', 'LEGAL', 'HR'];
const arbLabel: fc.Arbitrary<Label> = fc
  .record({ level: fc.constantFrom(...LEVELS), compartments: fc.subarray(COMPARTMENTS) })
  .map(({ level, compartments }) => label(level, compartments));

/** True when `fn` throws a SecurityError with reason SCHEMA; false when it returns or throws anything else. */
const refusedAsSchema = (fn: () => unknown): boolean => {
  try {
    fn();
  } catch (err) {
    return isSecurityError(err, 'SCHEMA');
  }
  return false;
};

/** A label object that did not come through `label()` or `parseLabel()`, e.g. a forged or corrupted one. */
const forged = (level: string, compartments: string[] = []): Label => ({ level, compartments }) as unknown as Label;

describe('the label lattice', () => {
  it('dominance is reflexive', () => {
    fc.assert(fc.property(arbLabel, (a) => dominates(a, a)));
  });

  it('dominance is antisymmetric', () => {
    fc.assert(
      fc.property(arbLabel, arbLabel, (a, b) => !(dominates(a, b) && dominates(b, a)) || formatLabel(a) === formatLabel(b)),
    );
  });

  it('dominance is transitive', () => {
    fc.assert(
      fc.property(arbLabel, arbLabel, arbLabel, (a, b, c) => !(dominates(a, b) && dominates(b, c)) || dominates(a, c)),
    );
  });

  it('join is an upper bound of both operands', () => {
    fc.assert(fc.property(arbLabel, arbLabel, (a, b) => dominates(join(a, b), a) && dominates(join(a, b), b)));
  });

  it('join is the least upper bound', () => {
    fc.assert(
      fc.property(arbLabel, arbLabel, arbLabel, (a, b, c) => !(dominates(c, a) && dominates(c, b)) || dominates(c, join(a, b))),
    );
  });

  it('join is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(arbLabel, arbLabel, arbLabel, (a, b, c) => {
        expect(formatLabel(join(a, b))).toBe(formatLabel(join(b, a)));
        expect(formatLabel(join(join(a, b), c))).toBe(formatLabel(join(a, join(b, c))));
        expect(formatLabel(join(a, a))).toBe(formatLabel(a));
      }),
    );
  });

  it('meet is the greatest lower bound', () => {
    fc.assert(
      fc.property(arbLabel, arbLabel, arbLabel, (a, b, c) => {
        const m = meet(a, b);
        expect(dominates(a, m) && dominates(b, m)).toBe(true);
        if (dominates(a, c) && dominates(b, c)) expect(dominates(m, c)).toBe(true);
      }),
    );
  });

  it('the join of nothing is UNCLASSIFIED with no compartments', () => {
    expect(join()).toEqual(label('UNCLASSIFIED'));
  });

  it('a higher level without the compartment does not dominate a compartmented label', () => {
    expect(dominates(label('TOP_SECRET'), label('CONFIDENTIAL', ['MEDICAL']))).toBe(false);
  });

  it('a compartment does not lift a lower level', () => {
    expect(dominates(label('CONFIDENTIAL', ['MEDICAL']), label('SECRET'))).toBe(false);
  });

  it('the levels are ordered UNCLASSIFIED < CONFIDENTIAL < SECRET < TOP_SECRET', () => {
    for (let i = 0; i < LEVELS.length; i++) {
      for (let j = 0; j < LEVELS.length; j++) {
        expect(dominates(label(LEVELS[i]), label(LEVELS[j]))).toBe(i >= j);
      }
    }
  });

  it('text form round-trips and is canonical', () => {
    fc.assert(fc.property(arbLabel, (a) => formatLabel(parseLabelText(formatLabel(a))) === formatLabel(a)));
    expect(formatLabel(label('SECRET', ['MEDICAL', 'FINANCE', 'MEDICAL']))).toBe('SECRET/FINANCE+MEDICAL');
  });

  it('the text form of a label without compartments is the bare level, with no trailing separator', () => {
    expect(formatLabel(label('SECRET'))).toBe('SECRET');
    expect(formatLabel(label('TOP_SECRET', ['MEDICAL']))).toBe('TOP_SECRET/MEDICAL');
  });
});

describe('a level outside the four fails closed in every lattice operation (DESIGN §2)', () => {
  it('an unknown level has no rank: levelRank refuses it SCHEMA', () => {
    expect(refusedAsSchema(() => levelRank('COSMIC'))).toBe(true);
    expect(refusedAsSchema(() => levelRank(''))).toBe(true);
  });

  it('a forged label with an unknown level is refused SCHEMA, not dominated, even by TOP_SECRET', () => {
    expect(refusedAsSchema(() => dominates(label('TOP_SECRET'), forged('COSMIC')))).toBe(true);
  });

  it('a forged clearance with an unknown level is refused SCHEMA, not dominating, even UNCLASSIFIED', () => {
    expect(refusedAsSchema(() => dominates(forged('ROOT'), label('UNCLASSIFIED')))).toBe(true);
  });

  it('label(), join() and formatLabel() refuse an unknown level SCHEMA instead of building, joining or printing it', () => {
    expect(refusedAsSchema(() => label('COSMIC' as never))).toBe(true);
    expect(refusedAsSchema(() => join(label('SECRET'), forged('COSMIC')))).toBe(true);
    expect(refusedAsSchema(() => formatLabel(forged('COSMIC')))).toBe(true);
  });

  it('isLevel accepts exactly the four level names and nothing else, of any type or case', () => {
    for (const level of ['UNCLASSIFIED', 'CONFIDENTIAL', 'SECRET', 'TOP_SECRET']) expect(isLevel(level)).toBe(true);
    for (const value of ['COSMIC', 'secret', '', undefined, null, 2, ['SECRET'], { level: 'SECRET' }]) expect(isLevel(value)).toBe(false);
  });
});

describe('label parsing fails closed', () => {
  const known = new Set(['MEDICAL', 'FINANCE']);
  const refused = (input: unknown) => refusedAsSchema(() => parseLabel(input, known));

  it.each([
    ['a missing label', undefined],
    ['null', null],
    ['a string', 'SECRET'],
    ['an array', ['SECRET']],
    ['a missing level', { compartments: [] }],
    ['an unknown level', { level: 'COSMIC', compartments: [] }],
    ['a lower-case level', { level: 'secret', compartments: [] }],
    ['an unknown compartment', { level: 'SECRET', compartments: ['NUCLEAR'] }],
    ['a malformed compartment', { level: 'SECRET', compartments: ['medical'] }],
    ['a non-array compartments', { level: 'SECRET', compartments: 'MEDICAL' }],
    ['an extra field', { level: 'SECRET', compartments: [], default: 'TOP_SECRET' }],
  ])('refuses %s', (_name, input) => {
    expect(refused(input)).toBe(true);
  });

  it('accepts a well-formed label and canonicalizes it', () => {
    expect(parseLabel({ level: 'SECRET', compartments: ['MEDICAL', 'FINANCE'] }, known)).toEqual({
      level: 'SECRET',
      compartments: ['FINANCE', 'MEDICAL'],
    });
  });

  it('never returns a label for arbitrary input that is not a valid label', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        try {
          const l = parseLabel(input, known);
          return LEVELS.includes(l.level) && l.compartments.every((c) => known.has(c));
        } catch (err) {
          return isSecurityError(err, 'SCHEMA');
        }
      }),
    );
  });

  it('refuses malformed label text', () => {
    for (const text of ['', 'SECRET/MEDICAL/X', 'secret', 'SECRET/NUCLEAR']) {
      expect(() => parseLabelText(text, known)).toThrow(/SCHEMA/);
    }
  });

  it('refuses label text that is not a string as SCHEMA, never with a TypeError', () => {
    for (const value of [42, undefined, null, { level: 'SECRET' }]) {
      expect(refusedAsSchema(() => parseLabelText(value as never))).toBe(true);
    }
  });

  describe("compartment names are checked even when the topology's compartment list is not given", () => {
    it.each([
      ['lower case', 'medical'],
      ['empty', ''],
      ['a leading digit', '1MEDICAL'],
      ['a suffix after a valid name', 'MEDICAL-X'],
      ['a prefix before a valid name', 'xMEDICAL'],
      ['longer than 32 characters', `M${'X'.repeat(32)}`],
      ['not a string', 42],
      ['a list that reads like a name', ['MEDICAL']],
    ])('refuses a compartment that is %s', (_what, compartment) => {
      expect(refusedAsSchema(() => parseLabel({ level: 'SECRET', compartments: [compartment] }))).toBe(true);
    });

    it('refuses compartments given as a string rather than a list, instead of splitting it into letters', () => {
      expect(refusedAsSchema(() => parseLabel({ level: 'SECRET', compartments: 'MEDICAL' }))).toBe(true);
    });

    it('accepts a compartment name of exactly 32 characters', () => {
      const name = `M${'X'.repeat(31)}`;
      expect(parseLabel({ level: 'SECRET', compartments: [name] }).compartments).toEqual([name]);
    });

    it('a label given without a compartments field parses to one with no compartments', () => {
      expect(parseLabel({ level: 'SECRET' })).toEqual({ level: 'SECRET', compartments: [] });
    });
  });
});
