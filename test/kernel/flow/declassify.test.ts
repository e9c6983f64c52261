import { declassify, needsDeclassification } from '../../../functions/kernel/flow/declassify';
import { label, sameLabel } from '../../../functions/kernel/labels';
import { loadTopology } from '../../../functions/kernel/topology/topology';

const topology = loadTopology();
const TOP_SECRET_MEDICAL = label('TOP_SECRET', ['MEDICAL']);
const SECRET_MEDICAL = label('SECRET', ['MEDICAL']);
const edge = topology.agent('edge');
const scheduler = topology.agent('scheduler');

describe('writing down is declassification', () => {
  it('content the receiver is cleared for needs no declassification', () => {
    expect(needsDeclassification(topology.agent('analyst').clearance, label('SECRET', ['MEDICAL']))).toBe(false);
    expect(needsDeclassification(label('SECRET'), label('SECRET'))).toBe(false);
  });

  it('content above the receiver\'s level, or in a compartment it lacks, needs declassification', () => {
    expect(needsDeclassification(label('CONFIDENTIAL'), label('SECRET'))).toBe(true);
    expect(needsDeclassification(label('SECRET'), label('SECRET', ['MEDICAL']))).toBe(true);
  });
});

describe('a release', () => {
  it('is labelled at what the receiver is cleared for: the meet of the content\'s label and its clearance', () => {
    const release = declassify('Book a follow-up.', undefined, TOP_SECRET_MEDICAL, scheduler, topology);
    expect(sameLabel(release.label, label('CONFIDENTIAL'))).toBe(true);
    expect(needsDeclassification(scheduler.clearance, release.label)).toBe(false);
  });

  it('drops only the compartments the receiver lacks and keeps its level where the receiver is cleared', () => {
    const release = declassify('Summarize the chart.', undefined, label('SECRET', ['FINANCE', 'MEDICAL']), { name: 'analyst', clearance: label('TOP_SECRET', ['MEDICAL']) }, topology);
    expect(sameLabel(release.label, label('SECRET', ['MEDICAL']))).toBe(true);
  });

  it('without a release rule is free text, redacted as an extra pass, which only a human lets down', () => {
    const release = declassify('Patient John Smith, door code 4471: book a follow-up.', undefined, TOP_SECRET_MEDICAL, { name: 'edge', clearance: label('CONFIDENTIAL') }, topology);
    expect(release.path).toBe('free-text');
    expect(release.text).not.toMatch(/John|Smith|4471/);
  });

  it('by a release rule is the rule\'s template filled with the validated fields, and nothing of the task', () => {
    const task = 'Patient John Smith (P-1001, HIV) parks on level 2; find parking info.';
    const release = declassify(task, { rule: 'car-park-level', fields: { level: '2' } }, SECRET_MEDICAL, edge, topology);
    expect(release).toMatchObject({ path: 'rule', rule: 'car-park-level', fields: { level: '2' } });
    expect(release.text).toBe('Please lookup_public_info about car parking on level 2 of the hospital car park.');
    expect(sameLabel(release.label, label('UNCLASSIFIED'))).toBe(true);
  });
});

/**
 * What redaction let through (issue 13): each of these, pre-authorized, went down to edge unchanged. Now what goes down
 * without a human is built by a rule and carries none of it; the task itself is only ever free text, for a human.
 */
describe('what the regexes missed goes down only by a rule that carries none of it, or as free text for a human', () => {
  const bypasses: Array<[string, string, RegExp]> = [
    ['a lowercase name', 'patient john smith has HIV; find car park level 2', /john|smith|hiv/i],
    ['an accented name', 'José García needs parking on car park level 2', /jos|garc/i],
    ['a full-width name', 'Ｊｏｈｎ Ｓｍｉｔｈ needs car park level 2', /ｊｏｈｎ|john|ｓｍｉｔｈ|smith/i],
    ['a zero-width split name', 'Jo\u200bhn Sm\u200bith needs car park level 2', /jo.?hn|sm.?ith/i],
    ['a social security number', 'SSN 123-45-6789 needs car park level 2', /123-45-6789|6789/],
    ['an email address', 'john.smith@example.com needs car park level 2', /example|john/],
    ['a patient id', 'P-1001 needs car park level 2', /P-1001|1001/],
    ['a diagnosis', 'the patient with HIV and type 2 diabetes needs car park level 2', /hiv|diabetes/i],
  ];

  it.each(bypasses)('%s is not in a rule-built release', (_what, task, secret) => {
    const release = declassify(task, { rule: 'car-park-level', fields: { level: '2' } }, SECRET_MEDICAL, edge, topology);
    expect(release.path).toBe('rule');
    expect(release.text).not.toMatch(secret);
  });

  it.each(bypasses)('%s without a rule is free text, never released as a rule would be', (_what, task) => {
    expect(declassify(task, undefined, SECRET_MEDICAL, edge, topology).path).toBe('free-text');
  });

  it.each(bypasses)('%s in a field is refused', (_what, task) => {
    expect(() => declassify('x', { rule: 'car-park-level', fields: { level: task } }, SECRET_MEDICAL, edge, topology)).toThrow(/SCHEMA/);
  });
});
