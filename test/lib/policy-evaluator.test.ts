import { PolicyEvaluator } from '../../redteam/iam/policy-evaluator';
import { decide, publicSimulation } from '../../redteam/iam/simulator';
import { Synthesized, logicalIdOf, synthesize } from './support/synth';
import { keyIds, principalRoles } from './support/template-lookup';

/** The evaluator behind the access matrix is iam-simulate's own engine; these tests keep the adapter honest. */
describe('the IAM policy evaluator', () => {
  let s: Synthesized;
  let evaluator: PolicyEvaluator;
  let roles: Map<string, string>;
  beforeAll(() => {
    s = synthesize();
    evaluator = new PolicyEvaluator(s.json);
    roles = principalRoles(s);
  });

  it('agrees with iam-simulate’s runSimulation on every request without encryption-context keys', async () => {
    const authority = keyIds(s).get('authority')!;
    const coreInbox = logicalIdOf(s.stack, s.stack.agent('core').queue);
    const ledger = logicalIdOf(s.stack, s.stack.data.tables.ledger);
    const disagreements: string[] = [];
    for (const [name, role] of roles) {
      for (const [action, resource] of [
        ['kms:Sign', authority],
        ['kms:GetPublicKey', authority],
        ['sqs:SendMessage', coreInbox],
        ['dynamodb:UpdateItem', ledger],
        ['dynamodb:PutItem', ledger],
      ]) {
        const req = evaluator.request({ caller: { role }, action, resource });
        const [ours, theirs] = [decide(req), await publicSimulation(req)];
        if (ours !== theirs) disagreements.push(`${name} ${action}: adapter ${ours}, runSimulation ${theirs}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('is needed because runSimulation drops kms:EncryptionContext keys and so denies an honest open', async () => {
    const req = evaluator.request({
      caller: { role: roles.get('edge')! },
      action: 'kms:Decrypt',
      resource: keyIds(s).get('UNCLASSIFIED')!,
      context: { 'kms:EncryptionContext:to': 'edge', 'kms:EncryptionContext:from': 'core', 'kms:EncryptionContext:label': 'UNCLASSIFIED' },
    });
    expect(decide(req)).toBe('Allowed');
    // If this starts to pass as 'Allowed', iam-simulate evaluates encryption contexts itself and the adapter can go.
    expect(await publicSimulation(req)).toBe('ImplicitlyDenied');
  });

  it('denies what no policy allows and honours an explicit deny over an allow', async () => {
    const edge = { role: roles.get('edge')! };
    expect(await evaluator.decide({ caller: edge, action: 'kms:Sign', resource: keyIds(s).get('authority')! })).toBe('ExplicitlyDenied');
    expect(await evaluator.decide({ caller: edge, action: 'kms:Decrypt', resource: keyIds(s).get('storage')! })).toBe('ImplicitlyDenied');
  });
});
