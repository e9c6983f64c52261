import { Synthesized, synthesize } from './support/synth';
import { keyIds, principalRoles, tagOf } from './support/template-lookup';

/** DESIGN §5: one ECC_NIST_P256 signing key; only the signer's role may sign, in IAM and in the key policy. */
describe('the authority key', () => {
  let s: Synthesized;
  let key: Synthesized['json']['Resources'][string];
  let statements: Array<Record<string, any>>;
  let signerRole: string;
  beforeAll(() => {
    s = synthesize();
    key = s.json.Resources[keyIds(s).get('authority')!];
    statements = key.Properties!.KeyPolicy.Statement;
    signerRole = principalRoles(s).get('signer')!;
  });

  it('is an ECC_NIST_P256 SIGN_VERIFY key tagged agentsec:purpose=authority, aliased alias/agentsec/authority', () => {
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(tagOf(key, 'agentsec:purpose')).toBe('authority');
    s.template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/agentsec/authority' });
  });

  it('gives key administration without kms:Sign', () => {
    const admin = statements.find((st) => st.Sid === 'KeyAdministrationWithoutCryptographicUse')!;
    expect(admin.Action).not.toContain('kms:Sign');
    expect(admin.Action.filter((a: string) => a.includes('*'))).toEqual([]);
  });

  it('allows kms:Sign in its key policy to the signer’s role alone and denies it to every other principal', () => {
    const allowSign = statements.filter((st) => st.Effect === 'Allow' && [st.Action].flat().includes('kms:Sign'));
    expect(allowSign).toHaveLength(1);
    expect(allowSign[0].Condition).toEqual({ ArnEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [signerRole, 'Arn'] } } });
    const deny = statements.find((st) => st.Effect === 'Deny')!;
    expect(deny).toMatchObject({ Principal: { AWS: '*' }, Action: 'kms:Sign', Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [signerRole, 'Arn'] } } } });
  });

  it('lets every AgentSec role but the sequencer (it verifies nothing) get the public key and verify', () => {
    const verifiers = statements.filter((st) => [st.Action].flat().includes('kms:GetPublicKey')).map((st) => st.Condition.ArnEquals['aws:PrincipalArn']['Fn::GetAtt'][0]);
    expect(verifiers.sort()).toEqual([...principalRoles(s)].filter(([name]) => name !== 'sequencer').map(([, role]) => role).sort());
  });

  it('is the only key without rotation: KMS does not rotate asymmetric keys', () => {
    const unrotated = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::KMS::Key' && r.Properties!.EnableKeyRotation !== true);
    expect(unrotated).toEqual([key]);
  });
});
