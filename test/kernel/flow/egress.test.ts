import { guardEgress } from '../../../functions/kernel/flow/egress';
import { isSecurityError } from '../../../functions/kernel/errors';
import { label } from '../../../functions/kernel/labels';
import { loadTopology } from '../../../functions/kernel/topology/topology';

const topology = loadTopology();

function refusal(fn: () => void) {
  try {
    fn();
  } catch (err) {
    return isSecurityError(err) ? err.reason : 'other';
  }
  return undefined;
}

describe('the egress guard', () => {
  it('an external endpoint cannot receive a SECRET prompt', () => {
    expect(refusal(() => guardEgress(topology.modelEndpoint('external'), label('SECRET')))).toBe('EGRESS_ABOVE_TRUST');
  });

  it('an external endpoint cannot receive a compartmented UNCLASSIFIED prompt', () => {
    expect(refusal(() => guardEgress(topology.modelEndpoint('external'), label('UNCLASSIFIED', ['MEDICAL'])))).toBe(
      'EGRESS_ABOVE_TRUST',
    );
  });

  it('a partner endpoint trusted with CONFIDENTIAL refuses SECRET and accepts CONFIDENTIAL', () => {
    expect(refusal(() => guardEgress(topology.modelEndpoint('partner'), label('SECRET')))).toBe('EGRESS_ABOVE_TRUST');
    expect(refusal(() => guardEgress(topology.modelEndpoint('partner'), label('CONFIDENTIAL')))).toBeUndefined();
  });

  it('the on-prem endpoint may see TOP_SECRET with every compartment', () => {
    expect(refusal(() => guardEgress(topology.modelEndpoint('onprem'), label('TOP_SECRET', ['MEDICAL', 'FINANCE'])))).toBeUndefined();
  });
});
