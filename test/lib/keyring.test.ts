import { Match } from 'aws-cdk-lib/assertions';
import { LEVELS } from '../../functions/kernel/labels';
import { KEY_ADMINISTRATION_ACTIONS } from '../../lib/key-policy';
import { Synthesized, synthesize } from './support/synth';
import { keyIds, tagOf } from './support/template-lookup';

/** DESIGN §3: one symmetric KMS key per level, rotated, aliased, tagged, with a key policy that administers only. */
describe('the keyring', () => {
  let s: Synthesized;
  let keys: ReturnType<typeof keyIds>;
  beforeAll(() => {
    s = synthesize();
    keys = keyIds(s);
  });

  const keyOf = (name: Parameters<typeof keys.get>[0]) => s.json.Resources[keys.get(name)!];

  it('has one symmetric, rotated encryption key per level, tagged agentsec:level', () => {
    for (const level of LEVELS) {
      const key = keyOf(level);
      expect(key.Properties).toMatchObject({ EnableKeyRotation: true, KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' });
      expect(tagOf(key, 'agentsec:level')).toBe(level);
    }
  });

  it('names each level key with an alias alias/agentsec/<level>', () => {
    for (const level of LEVELS) {
      s.template.hasResourceProperties('AWS::KMS::Alias', {
        AliasName: `alias/agentsec/${level.toLowerCase()}`,
        TargetKeyId: { 'Fn::GetAtt': [keys.get(level), 'Arn'] },
      });
    }
  });

  it('keeps the keys when the stack is deleted', () => {
    for (const level of LEVELS) expect(keyOf(level)).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('trusts the account for administration only: no kms:*, no cryptographic action, no CreateGrant', () => {
    const crypto = /^kms:(\*|Decrypt|Encrypt|GenerateDataKey.*|ReEncrypt.*|Sign|Verify|CreateGrant|Get\*|GetPublicKey)$/;
    expect(KEY_ADMINISTRATION_ACTIONS.filter((a) => crypto.test(a))).toEqual([]);
    for (const name of [...LEVELS, 'authority', 'storage'] as const) {
      const statements = keyOf(name).Properties!.KeyPolicy.Statement as Array<Record<string, any>>;
      const admin = statements.find((st) => st.Sid === 'KeyAdministrationWithoutCryptographicUse');
      expect(admin).toMatchObject({ Effect: 'Allow', Action: KEY_ADMINISTRATION_ACTIONS });
      // Every other Allow names one role through aws:PrincipalArn, or is DynamoDB's documented via-service use.
      for (const st of statements.filter((x) => x.Effect === 'Allow' && x !== admin)) {
        const pinned = st.Condition?.ArnEquals?.['aws:PrincipalArn'] !== undefined;
        const viaDynamo = st.Condition?.StringEquals?.['kms:ViaService'] !== undefined;
        expect({ sid: st.Sid, pinned: pinned || viaDynamo }).toEqual({ sid: st.Sid, pinned: true });
      }
    }
  });

  it('pins every level-key statement to the sender (from) or the addressee (to) and to the key’s level', () => {
    for (const level of LEVELS) {
      const statements = keyOf(level).Properties!.KeyPolicy.Statement as Array<Record<string, any>>;
      for (const st of statements.filter((x) => x.Sid !== 'KeyAdministrationWithoutCryptographicUse' && x.Effect === 'Allow')) {
        const pin = st.Action === 'kms:Decrypt' ? 'kms:EncryptionContext:to' : 'kms:EncryptionContext:from';
        expect(['kms:Decrypt', 'kms:GenerateDataKey']).toContain(st.Action);
        expect(st.Condition.StringEquals[pin]).toEqual(expect.any(String));
        expect(st.Condition.StringLike['kms:EncryptionContext:label']).toEqual([level, `${level}/*`]);
      }
    }
  });

  it('every level key denies Decrypt to each role for each compartment its clearance lacks, whenever that compartment’s key is in the context', () => {
    for (const level of LEVELS) {
      const denies = (keyOf(level).Properties!.KeyPolicy.Statement as Array<Record<string, any>>).filter((x) => x.Effect === 'Deny');
      const expected = [...s.topology.agents.values()].flatMap((a) => [...s.topology.compartments].filter((c) => !a.clearance.compartments.includes(c)));
      expect(denies).toHaveLength(expected.length);
      for (const st of denies) {
        expect(st.Action).toBe('kms:Decrypt');
        expect(Object.keys(st.Condition.Null)).toEqual([expect.stringMatching(/^kms:EncryptionContext:compartment-[A-Z0-9_]+$/)]);
        expect(st.Condition.ArnEquals['aws:PrincipalArn']).toBeDefined();
      }
    }
  });

  it('grants no level key Encrypt or ReEncrypt to anyone (the Encryption SDK seals with GenerateDataKey)', () => {
    const allStatements = Object.values(s.json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties!.PolicyDocument.Statement as Array<Record<string, any>>);
    const levelKeyIds = LEVELS.map((l) => keys.get(l));
    const onLevelKeys = allStatements.filter((st) => levelKeyIds.includes(st.Resource?.['Fn::GetAtt']?.[0]));
    expect(onLevelKeys.flatMap((st) => [st.Action].flat()).filter((a) => !['kms:Decrypt', 'kms:GenerateDataKey'].includes(a))).toEqual([]);
  });

  it('has a 30-day deletion window', () => {
    s.template.allResourcesProperties('AWS::KMS::Key', { PendingWindowInDays: 30 });
    // The level keys, the authority key, the storage key and the model secrets key.
    s.template.resourcePropertiesCountIs('AWS::KMS::Key', { KeyPolicy: Match.objectLike({ Statement: Match.anyValue() }) }, 7);
  });
});
