import fc from 'fast-check';
import { isSecurityError } from '../../functions/kernel/errors';
import {
  LEVELS,
  Label,
  dominates,
  formatLabel,
  join,
  label,
  meet,
  parseLabel,
  parseLabelText,
} from '../../functions/kernel/labels';

const COMPARTMENTS = ['MEDICAL', 'FINANCE', 'LEGAL', 'HR'];
const arbLabel: fc.Arbitrary<Label> = fc
  .record({ level: fc.constantFrom(...LEVELS), compartments: fc.subarray(COMPARTMENTS) })
  .map(({ level, compartments }) => label(level, compartments));

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
});

describe('label parsing fails closed', () => {
  const known = new Set(['MEDICAL', 'FINANCE']);
  const refused = (input: unknown) => {
    try {
      parseLabel(input, known);
    } catch (err) {
      return isSecurityError(err, 'SCHEMA');
    }
    return false;
  };

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
});
