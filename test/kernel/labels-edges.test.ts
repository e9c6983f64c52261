import { isSecurityError } from '../../functions/kernel/errors';
import { Label, dominates, formatLabel, isLevel, join, label, levelRank, parseLabel, parseLabelText } from '../../functions/kernel/labels';

/** Properties of the label lattice that mutation testing showed were not pinned by the lattice laws alone. */

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

describe('a label with an unknown level fails closed (DESIGN §2)', () => {
  it('an unknown level has no rank', () => {
    expect(refusedAsSchema(() => levelRank('COSMIC'))).toBe(true);
    expect(refusedAsSchema(() => levelRank(''))).toBe(true);
  });

  it('a forged label with an unknown level is dominated by nothing, not even TOP_SECRET', () => {
    expect(refusedAsSchema(() => dominates(label('TOP_SECRET'), forged('COSMIC')))).toBe(true);
  });

  it('a forged clearance with an unknown level dominates nothing, not even UNCLASSIFIED', () => {
    expect(refusedAsSchema(() => dominates(forged('ROOT'), label('UNCLASSIFIED')))).toBe(true);
  });

  it('no label is built, joined or formatted with an unknown level', () => {
    expect(refusedAsSchema(() => label('COSMIC' as never))).toBe(true);
    expect(refusedAsSchema(() => join(label('SECRET'), forged('COSMIC')))).toBe(true);
    expect(refusedAsSchema(() => formatLabel(forged('COSMIC')))).toBe(true);
  });

  it('isLevel accepts exactly the four levels', () => {
    for (const level of ['UNCLASSIFIED', 'CONFIDENTIAL', 'SECRET', 'TOP_SECRET']) expect(isLevel(level)).toBe(true);
    for (const value of ['COSMIC', 'secret', '', undefined, null, 2, ['SECRET'], { level: 'SECRET' }]) expect(isLevel(value)).toBe(false);
  });
});

describe('compartment names are checked even when the topology\'s list is not given', () => {
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

  it('accepts a 32-character compartment name', () => {
    const name = `M${'X'.repeat(31)}`;
    expect(parseLabel({ level: 'SECRET', compartments: [name] }).compartments).toEqual([name]);
  });

  it('a label given without compartments has none', () => {
    expect(parseLabel({ level: 'SECRET' })).toEqual({ level: 'SECRET', compartments: [] });
  });
});

describe('the text form of a label', () => {
  it('is the bare level when there are no compartments', () => {
    expect(formatLabel(label('SECRET'))).toBe('SECRET');
    expect(formatLabel(label('TOP_SECRET', ['MEDICAL']))).toBe('TOP_SECRET/MEDICAL');
  });

  it('refuses text that is not a string as SCHEMA, never a TypeError', () => {
    for (const value of [42, undefined, null, { level: 'SECRET' }]) {
      expect(refusedAsSchema(() => parseLabelText(value as never))).toBe(true);
    }
  });
});
