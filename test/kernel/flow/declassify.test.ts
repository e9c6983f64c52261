import { declassify, needsDeclassification } from '../../../functions/kernel/flow/declassify';
import { label, sameLabel } from '../../../functions/kernel/labels';
import { loadTopology } from '../../../functions/kernel/topology/topology';

const topology = loadTopology();
const rules = topology.redaction;
const TOP_SECRET_MEDICAL = label('TOP_SECRET', ['MEDICAL']);

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
    const scheduler = topology.agent('scheduler').clearance;
    const release = declassify('Book a follow-up.', TOP_SECRET_MEDICAL, scheduler, rules);
    expect(sameLabel(release.label, label('CONFIDENTIAL'))).toBe(true);
    expect(needsDeclassification(scheduler, release.label)).toBe(false);
  });

  it('drops only the compartments the receiver lacks and keeps its level where the receiver is cleared', () => {
    const release = declassify('Summarize the chart.', label('SECRET', ['FINANCE', 'MEDICAL']), label('TOP_SECRET', ['MEDICAL']), rules);
    expect(sameLabel(release.label, label('SECRET', ['MEDICAL']))).toBe(true);
  });

  it('carries the text after the topology\'s redaction rules, never the original', () => {
    const release = declassify('Patient John Smith, door code 4471: book a follow-up.', TOP_SECRET_MEDICAL, label('CONFIDENTIAL'), rules);
    expect(release.text).not.toMatch(/John|Smith|4471/);
    expect(release.text).toContain('book a follow-up');
  });
});
