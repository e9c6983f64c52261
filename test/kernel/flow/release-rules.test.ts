import embeddedTopology from '../../../agentsec.config.json';
import { buildRelease, releasedValue } from '../../../functions/kernel/flow/release-rules';
import { label } from '../../../functions/kernel/labels';
import { loadTopology, parseTopology, ReleaseField } from '../../../functions/kernel/topology/topology';

const topology = loadTopology();
const SECRET_MEDICAL = label('SECRET', ['MEDICAL']);
const UNCLASSIFIED = label('UNCLASSIFIED');
const CONFIDENTIAL = label('CONFIDENTIAL');

const slot = (fields: Record<string, unknown>) =>
  buildRelease(topology, { rule: 'appointment-slot', fields }, 'scheduler', SECRET_MEDICAL, CONFIDENTIAL).text;
const SLOT = { department: 'Cardiology', date: '2031-04-01', time: '09:00' };

const digit: ReleaseField = { type: 'digit' };
const integer: ReleaseField = { type: 'integer', min: 0, max: 500 };
const ward: ReleaseField = { type: 'enum', values: ['Cardiology', 'Oncology'] };
const room: ReleaseField = { type: 'pattern', pattern: '^[A-D]-[0-9]{3}$', maxLength: 8 };
const refused = (field: ReleaseField, value: unknown) => () => releasedValue(field, value);

describe('a release rule builds the released text from its typed fields only', () => {
  it('fills the template with each validated field', () => {
    expect(slot(SLOT)).toBe('Is an appointment slot free in Cardiology on 2031-04-01 at 09:00?');
  });

  it('refuses a missing field, a field the rule does not name, and a rule that does not exist', () => {
    expect(() => slot({ department: 'Cardiology', date: '2031-04-01' })).toThrow(/SCHEMA/);
    expect(() => slot({ ...SLOT, note: 'John Smith' })).toThrow(/SCHEMA/);
    expect(() => buildRelease(topology, { rule: 'free-text', fields: {} }, 'scheduler', SECRET_MEDICAL, CONFIDENTIAL)).toThrow(/NOT_AUTHORIZED/);
  });

  it('releases only to the receivers, from the labels and down to the label the rule names', () => {
    expect(() => buildRelease(topology, { rule: 'appointment-slot', fields: SLOT }, 'edge', SECRET_MEDICAL, UNCLASSIFIED)).toThrow(/NOT_AUTHORIZED/);
    expect(() => buildRelease(topology, { rule: 'appointment-slot', fields: SLOT }, 'scheduler', label('TOP_SECRET', ['MEDICAL']), CONFIDENTIAL)).toThrow(/NOT_AUTHORIZED/);
    expect(() => buildRelease(topology, { rule: 'appointment-slot', fields: SLOT }, 'scheduler', SECRET_MEDICAL, UNCLASSIFIED)).toThrow(/NOT_AUTHORIZED/);
  });
});

describe('a field value is NFKC-normalized, then must be printable ASCII and fit its type whole', () => {
  it('full-width digits are normalized into a valid value, never passed through', () => {
    expect(releasedValue(digit, '２')).toBe('2');
    expect(releasedValue({ type: 'time' }, '０９：３０')).toBe('09:30');
  });

  it('case: an enum matches its allow-list exactly, a pattern is case-sensitive', () => {
    expect(releasedValue(ward, 'Cardiology')).toBe('Cardiology');
    expect(refused(ward, 'cardiology')).toThrow(/SCHEMA/);
    expect(refused(room, 'a-101')).toThrow(/SCHEMA/);
  });

  it('accents and Unicode confusables are refused', () => {
    expect(refused(ward, 'Cardiologý')).toThrow(/SCHEMA/);
    expect(refused(ward, 'Cаrdiology')).toThrow(/SCHEMA/); // Cyrillic а
    expect(refused(room, 'А-101')).toThrow(/SCHEMA/); // Cyrillic А
    expect(refused(digit, '٢')).toThrow(/SCHEMA/); // Arabic-Indic two: a digit, not an ASCII one
  });

  it('zero-width and other format characters are refused, not stripped', () => {
    expect(refused(digit, '2\u200b')).toThrow(/SCHEMA/);
    expect(refused(ward, 'Cardio\u200dlogy')).toThrow(/SCHEMA/);
    expect(refused(room, 'A-\u2060101')).toThrow(/SCHEMA/);
    expect(refused(integer, '1\u00ad2')).toThrow(/SCHEMA/); // soft hyphen
  });

  it('encodings in a field (base64, hex, exponent) are refused', () => {
    expect(refused(room, 'Sm9obiBTbWl0aA==')).toThrow(/SCHEMA/);
    expect(refused(integer, '0x1F')).toThrow(/SCHEMA/);
    expect(refused(integer, '1e2')).toThrow(/SCHEMA/);
    expect(refused(digit, '4a6f686e')).toThrow(/SCHEMA/);
  });

  it('a name split across two fields is refused field by field', () => {
    expect(() => slot({ department: 'Cardiology', date: 'John', time: 'Smith' })).toThrow(/SCHEMA/);
    expect(() => slot({ department: 'John', date: '2031-04-01', time: '09:00' })).toThrow(/SCHEMA/);
  });

  it('integers are released in canonical form within their range; dates and times must exist', () => {
    expect(releasedValue(integer, '007')).toBe('7');
    expect(releasedValue(integer, 42)).toBe('42');
    expect(refused(integer, '501')).toThrow(/SCHEMA/);
    expect(refused(integer, ' 7')).toThrow(/SCHEMA/);
    expect(refused({ type: 'date' }, '2031-02-30')).toThrow(/SCHEMA/);
    expect(refused({ type: 'time' }, '24:00')).toThrow(/SCHEMA/);
    expect(releasedValue({ type: 'timeRange' }, '14:00-16:30')).toBe('14:00-16:30');
    expect(refused({ type: 'timeRange' }, '16:00-14:00')).toThrow(/SCHEMA/);
    expect(refused({ type: 'timeRange' }, '14:00–16:00')).toThrow(/SCHEMA/); // en dash
  });

  it('a pattern matches whole even when the topology wrote an alternation', () => {
    const loose: ReleaseField = { type: 'pattern', pattern: '^A|B$', maxLength: 32 };
    expect(refused(loose, 'A John Smith')).toThrow(/SCHEMA/);
    expect(releasedValue(loose, 'B')).toBe('B');
  });
});

describe('the topology checks its release rules', () => {
  const config = () => JSON.parse(JSON.stringify(embeddedTopology)) as { release: Record<string, Record<string, unknown>> };

  it('a template names only declared fields, each once, and every one', () => {
    const c = config();
    c.release['car-park-level'].template = 'level {level} and {name}';
    expect(() => parseTopology(c)).toThrow(/undeclared field "name"/);
    c.release['car-park-level'].template = 'no fields at all';
    expect(() => parseTopology(c)).toThrow(/exactly once/);
  });

  it('a rule releases to known agents cleared for its label, strictly below where it releases from', () => {
    const c = config();
    c.release['car-park-level'].to = ['nobody'];
    expect(() => parseTopology(c)).toThrow(/unknown agent "nobody"/);
    const d = config();
    d.release['appointment-slot'].to = ['edge'];
    expect(() => parseTopology(d)).toThrow(/not cleared/);
    const e = config();
    e.release['car-park-level'].label = { level: 'SECRET', compartments: ['MEDICAL'] };
    expect(() => parseTopology(e)).toThrow(/strictly below/);
  });

  it('a pattern field is anchored and compiles', () => {
    const c = config();
    c.release['car-park-level'].fields = { level: { type: 'pattern', pattern: '[0-9]' } };
    expect(() => parseTopology(c)).toThrow(/anchored/);
  });
});
