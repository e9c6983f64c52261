import { App } from 'aws-cdk-lib';
import { loadTopology } from '../../functions/kernel/topology/topology';
import { AgentSecStack, STACK_NAME } from '../../lib/agentsec-stack';
import { Caller, PolicyEvaluator } from '../../redteam/iam/policy-evaluator';
import { ACCOUNT, REGION } from '../../redteam/iam/template-arns';
import { KEY_NAMES } from './support/expected-access';
import { administratorCaller } from './support/kms-matrix';
import { Synthesized, synthesize } from './support/synth';
import { keyIds } from './support/template-lookup';

/**
 * Key administration (DESIGN §3): by default the account administers every key, so an IAM administrator with
 * `kms:PutKeyPolicy` can rewrite any Deny; `keyAdministratorRoleArn` names a break-glass role instead, and then
 * only that role and the CloudFormation execution role may rewrite a key policy, and neither may use a key.
 */
const BREAK_GLASS = `arn:aws:iam::${ACCOUNT}:role/AgentSecBreakGlass`;
const DEPLOYMENT = `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`;

/** A role from outside the stack whose identity policy allows every KMS action. */
const kmsEverything = (roleArn: string): Caller => ({
  roleArn,
  identityPolicies: [{ name: 'KmsEverything', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } }],
});

const ADMINISTRATION = ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey'];
const CRYPTOGRAPHIC_USE = ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Sign', 'kms:CreateGrant'];

async function decisions(s: Synthesized, caller: Caller, actions: readonly string[]): Promise<string[]> {
  const evaluator = new PolicyEvaluator(s.json);
  const keys = keyIds(s);
  const allowed: string[] = [];
  for (const key of KEY_NAMES) {
    for (const action of actions) {
      if (await evaluator.allows({ caller, action, resource: keys.get(key)! })) allowed.push(`${action} on ${key}`);
    }
  }
  return allowed;
}

const every = (actions: readonly string[]) => KEY_NAMES.flatMap((key) => actions.map((action) => `${action} on ${key}`));

describe('key administration', () => {
  let byDefault: Synthesized;
  let withBreakGlass: Synthesized;

  beforeAll(() => {
    byDefault = synthesize();
    withBreakGlass = synthesize({ keyAdministratorRoleArn: BREAK_GLASS });
  });

  it('by default an account administrator may rewrite every key policy (the account is trusted for administration), and use no key', async () => {
    expect(await decisions(byDefault, administratorCaller, ADMINISTRATION)).toEqual(every(ADMINISTRATION));
    expect(await decisions(byDefault, administratorCaller, CRYPTOGRAPHIC_USE)).toEqual([]);
  });

  it('with a break-glass role an account administrator can rewrite no key policy, schedule no deletion, disable no key', async () => {
    expect(await decisions(withBreakGlass, administratorCaller, ADMINISTRATION)).toEqual([]);
    expect(await decisions(withBreakGlass, administratorCaller, CRYPTOGRAPHIC_USE)).toEqual([]);
  });

  it('the break-glass role administers every key and uses none', async () => {
    expect(await decisions(withBreakGlass, kmsEverything(BREAK_GLASS), ADMINISTRATION)).toEqual(every(ADMINISTRATION));
    expect(await decisions(withBreakGlass, kmsEverything(BREAK_GLASS), CRYPTOGRAPHIC_USE)).toEqual([]);
  });

  it('the CloudFormation execution role keeps key administration, so stack updates and the KMS lockout check pass', async () => {
    expect(await decisions(withBreakGlass, kmsEverything(DEPLOYMENT), ['kms:PutKeyPolicy'])).toEqual(every(['kms:PutKeyPolicy']));
    expect(await decisions(withBreakGlass, kmsEverything(DEPLOYMENT), CRYPTOGRAPHIC_USE)).toEqual([]);
  });

  it('with a break-glass role no key policy trusts the account root for administration', () => {
    const keys = Object.values(withBreakGlass.json.Resources).filter((r) => r.Type === 'AWS::KMS::Key');
    const administration = keys
      .flatMap((r) => (r.Properties!.KeyPolicy.Statement as Array<{ Sid?: string; Principal: unknown }>).filter((st) => st.Sid === 'KeyAdministrationWithoutCryptographicUse'));
    // One statement per key: the keys of KEY_NAMES and the model secrets key.
    expect(keys).toHaveLength(KEY_NAMES.length + 1);
    expect(administration).toHaveLength(keys.length);
    expect(JSON.stringify(administration)).not.toContain(':root');
  });

  it('the agents, the signer and the gateway keep exactly their uses when a break-glass role is named', () => {
    const statements = (s: Synthesized) =>
      Object.values(s.json.Resources)
        .filter((r) => r.Type === 'AWS::KMS::Key')
        .map((r) => (r.Properties!.KeyPolicy.Statement as Array<{ Sid?: string }>).filter((st) => st.Sid !== 'KeyAdministrationWithoutCryptographicUse'));
    expect(statements(withBreakGlass)).toEqual(statements(byDefault));
  });

  it('refuses a break-glass role that is not an IAM role ARN, with a sentence', () => {
    for (const bad of ['admin', `arn:aws:iam::${ACCOUNT}:user/alice`, `arn:aws:iam::${ACCOUNT}:root`]) {
      expect(() => new AgentSecStack(new App(), STACK_NAME, { topology: loadTopology(), keyAdministratorRoleArn: bad })).toThrow(
        /keyAdministratorRoleArn must be an IAM role ARN/,
      );
    }
  });
});
