import { LEVELS } from '../../functions/kernel/labels';
import { ADMINISTRATOR, expectedCompartmentAccess, expectedKeyAccess } from './support/expected-access';
import { encryptionContextOf } from '../../functions/kernel/messages/envelope-cipher';
import { label } from '../../functions/kernel/labels';
import { Cell, administratorCaller, evaluateMatrix, formatMatrix } from './support/kms-matrix';
import { PolicyEvaluator } from '../../redteam/iam/policy-evaluator';
import { Synthesized, synthesize } from './support/synth';
import { keyIds, principalRoles } from './support/template-lookup';

/**
 * DESIGN §3 "proof, not hope": every principal × key × action, evaluated on the synthesized identity policies
 * and key policies by an IAM policy evaluator, against the matrix the topology implies.
 */
describe('the KMS access matrix', () => {
  let s: Synthesized;
  let evaluator: PolicyEvaluator;
  let roles: Map<string, string>;
  let keys: ReturnType<typeof keyIds>;

  beforeAll(() => {
    s = synthesize();
    evaluator = new PolicyEvaluator(s.json);
    roles = principalRoles(s);
    keys = keyIds(s);
  });

  const mismatches = (cells: readonly Cell[]) =>
    cells
      .filter((c) => c.allowed !== expectedKeyAccess(s.topology, c.principal, c.key, c.action))
      .map((c) => `${c.principal} ${c.allowed ? 'CAN' : 'cannot'} ${c.action} on ${c.key}`);

  it('every principal × key × action is exactly what the topology implies (identity and key policies together)', async () => {
    const cells = await evaluateMatrix(evaluator, roles, keys, { withAdministrator: true });
    console.log(`AgentSec KMS access matrix (evaluated from the synthesized template)\n${formatMatrix(cells)}`);
    expect(cells).toHaveLength((roles.size + 1) * 6 * 8);
    expect(mismatches(cells)).toEqual([]);
  });

  it('the identity policies alone grant exactly the matrix', async () => {
    expect(mismatches(await evaluateMatrix(evaluator, roles, keys, { layer: 'identity' }))).toEqual([]);
  });

  it('the key policies alone grant exactly the matrix', async () => {
    expect(mismatches(await evaluateMatrix(evaluator, roles, keys, { layer: 'resource' }))).toEqual([]);
  });

  /** The condition keys KMS sees when `principal` opens an envelope labelled `lbl` addressed to itself. */
  const openContext = (principal: string, lbl: ReturnType<typeof label>) =>
    Object.fromEntries(
      Object.entries(encryptionContextOf({ from: 'peer', to: principal, label: lbl, messageId: 'm', commandId: 'c' })).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]),
    );

  it('every principal × level × compartment: Decrypt only when its clearance holds the compartment (identity and key policies, each layer alone too)', async () => {
    const wrong: string[] = [];
    for (const [principal, role] of roles) {
      for (const level of LEVELS) {
        for (const compartment of s.topology.compartments) {
          const context = openContext(principal, label(level, [compartment]));
          const expected = expectedCompartmentAccess(s.topology, principal, level, compartment);
          for (const layer of [undefined, 'identity', 'resource'] as const) {
            const allowed = await evaluator.allows({ caller: { role }, action: 'kms:Decrypt', resource: keys.get(level)!, context, ...(layer ? { layer } : {}) });
            if (allowed !== expected) wrong.push(`${principal} ${allowed ? 'CAN' : 'cannot'} open ${level}/${compartment}${layer ? ` (${layer} layer alone)` : ''}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('a SECRET agent without MEDICAL cannot decrypt SECRET/MEDICAL addressed to it: KMS denies by the compartment key', async () => {
    const auditor = { role: roles.get('auditor')! };
    const secretMedical = openContext('auditor', label('SECRET', ['MEDICAL']));
    expect(await evaluator.decide({ caller: auditor, action: 'kms:Decrypt', resource: keys.get('SECRET')!, context: secretMedical })).toBe('ExplicitlyDenied');
    expect(await evaluator.allows({ caller: auditor, action: 'kms:Decrypt', resource: keys.get('SECRET')!, context: openContext('auditor', label('SECRET')) })).toBe(true);
    // The analyst, cleared for MEDICAL, opens it.
    const analyst = { role: roles.get('analyst')! };
    expect(await evaluator.allows({ caller: analyst, action: 'kms:Decrypt', resource: keys.get('SECRET')!, context: openContext('analyst', label('SECRET', ['MEDICAL'])) })).toBe(true);
  });

  it('a CONFIDENTIAL agent cannot decrypt a SECRET message', async () => {
    const scheduler = { role: roles.get('scheduler')! };
    const context = { 'kms:EncryptionContext:to': 'scheduler', 'kms:EncryptionContext:from': 'core', 'kms:EncryptionContext:label': 'SECRET' };
    expect(await evaluator.allows({ caller: scheduler, action: 'kms:Decrypt', resource: keys.get('SECRET')!, context })).toBe(false);
    const confidential = { ...context, 'kms:EncryptionContext:label': 'CONFIDENTIAL' };
    expect(await evaluator.allows({ caller: scheduler, action: 'kms:Decrypt', resource: keys.get('CONFIDENTIAL')!, context: confidential })).toBe(true);
  });

  it('a SECRET agent cannot create a data key below SECRET (no write down)', async () => {
    const auditor = { role: roles.get('auditor')! };
    for (const level of ['UNCLASSIFIED', 'CONFIDENTIAL'] as const) {
      const context = { 'kms:EncryptionContext:from': 'auditor', 'kms:EncryptionContext:to': 'core', 'kms:EncryptionContext:label': level };
      expect(await evaluator.allows({ caller: auditor, action: 'kms:GenerateDataKey', resource: keys.get(level)!, context })).toBe(false);
    }
  });

  it('only core writes below its own level, because only core declassifies', async () => {
    const writesBelowOwnLevel = [...s.topology.agents.values()].filter((a) =>
      LEVELS.slice(0, LEVELS.indexOf(a.clearance.level)).some((level) =>
        expectedKeyAccess(s.topology, a.name, level, 'kms:GenerateDataKey'),
      ),
    );
    expect(writesBelowOwnLevel.map((a) => a.name)).toEqual(['core']);
    const context = { 'kms:EncryptionContext:from': 'core', 'kms:EncryptionContext:to': 'edge', 'kms:EncryptionContext:label': 'UNCLASSIFIED' };
    expect(await evaluator.allows({ caller: { role: roles.get('core')! }, action: 'kms:GenerateDataKey', resource: keys.get('UNCLASSIFIED')!, context })).toBe(true);
  });

  it('no principal can create a data key in another sender’s name (kms:EncryptionContext:from)', async () => {
    const forged: string[] = [];
    for (const [name, role] of roles) {
      for (const level of LEVELS) {
        const context = { 'kms:EncryptionContext:from': name === 'core' ? 'edge' : 'core', 'kms:EncryptionContext:to': 'core', 'kms:EncryptionContext:label': level };
        if (await evaluator.allows({ caller: { role }, action: 'kms:GenerateDataKey', resource: keys.get(level)!, context })) forged.push(`${name}@${level}`);
      }
    }
    expect(forged).toEqual([]);
  });

  it('no principal can decrypt an envelope addressed to someone else (kms:EncryptionContext:to)', async () => {
    const opened: string[] = [];
    for (const [name, role] of roles) {
      for (const level of LEVELS) {
        const context = { 'kms:EncryptionContext:to': name === 'core' ? 'analyst' : 'core', 'kms:EncryptionContext:from': 'api', 'kms:EncryptionContext:label': level };
        if (await evaluator.allows({ caller: { role }, action: 'kms:Decrypt', resource: keys.get(level)!, context })) opened.push(`${name}@${level}`);
      }
    }
    expect(opened).toEqual([]);
  });

  it('a level key neither seals nor opens an envelope labelled at another level', async () => {
    const core = { role: roles.get('core')! };
    const relabelled = { 'kms:EncryptionContext:from': 'core', 'kms:EncryptionContext:to': 'core', 'kms:EncryptionContext:label': 'TOP_SECRET/MEDICAL' };
    expect(await evaluator.allows({ caller: core, action: 'kms:GenerateDataKey', resource: keys.get('UNCLASSIFIED')!, context: relabelled })).toBe(false);
    expect(await evaluator.allows({ caller: core, action: 'kms:Decrypt', resource: keys.get('SECRET')!, context: relabelled })).toBe(false);
    expect(await evaluator.allows({ caller: core, action: 'kms:Decrypt', resource: keys.get('TOP_SECRET')!, context: relabelled })).toBe(true);
  });

  it('an account administrator with kms:* in IAM cannot decrypt, create data keys or sign with any AgentSec key', async () => {
    const used: string[] = [];
    for (const [key, id] of keys) {
      for (const action of ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt', 'kms:ReEncryptFrom', 'kms:Sign', 'kms:CreateGrant']) {
        const context = { 'kms:EncryptionContext:from': ADMINISTRATOR, 'kms:EncryptionContext:to': ADMINISTRATOR, 'kms:EncryptionContext:label': key };
        if (await evaluator.allows({ caller: administratorCaller, action, resource: id, context })) used.push(`${action} on ${key}`);
      }
    }
    expect(used).toEqual([]);
    // It still administers them: key management is not taken away from the account.
    expect(await evaluator.allows({ caller: administratorCaller, action: 'kms:ScheduleKeyDeletion', resource: keys.get('SECRET')! })).toBe(true);
  });

  it('only the signer can sign with the authority key, and the key policy denies every other role', async () => {
    const signers = [];
    for (const [name, role] of roles) {
      if (await evaluator.allows({ caller: { role }, action: 'kms:Sign', resource: keys.get('authority')! })) signers.push(name);
    }
    expect(signers).toEqual(['signer']);
    // Even a role whose IAM allows kms:Sign is refused by the key policy's explicit deny.
    const decision = await evaluator.decide({ caller: { role: roles.get('core')! }, action: 'kms:Sign', resource: keys.get('authority')!, layer: 'resource' });
    expect(decision).toBe('ExplicitlyDenied');
  });

  it('the signer opens only requests addressed to it, and seals only as itself', async () => {
    const signer = { role: roles.get('signer')! };
    for (const level of LEVELS) {
      const message = { 'kms:EncryptionContext:to': 'analyst', 'kms:EncryptionContext:from': 'core', 'kms:EncryptionContext:label': level };
      expect(await evaluator.allows({ caller: signer, action: 'kms:Decrypt', resource: keys.get(level)!, context: message })).toBe(false);
      const request = { 'kms:EncryptionContext:to': 'signer', 'kms:EncryptionContext:from': 'analyst', 'kms:EncryptionContext:label': level };
      expect(await evaluator.allows({ caller: signer, action: 'kms:Decrypt', resource: keys.get(level)!, context: request })).toBe(true);
      const asCore = { 'kms:EncryptionContext:from': 'core', 'kms:EncryptionContext:to': 'analyst', 'kms:EncryptionContext:label': level };
      expect(await evaluator.allows({ caller: signer, action: 'kms:GenerateDataKey', resource: keys.get(level)!, context: asCore })).toBe(false);
    }
  });

  it('the storage key is usable only through DynamoDB', async () => {
    const ledgerWriter = { role: roles.get('edge')! };
    const storage = keys.get('storage')!;
    expect(await evaluator.allows({ caller: ledgerWriter, action: 'kms:Decrypt', resource: storage })).toBe(false);
    const viaDynamo = { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com', 'kms:CallerAccount': '111122223333' };
    expect(await evaluator.allows({ caller: ledgerWriter, action: 'kms:Decrypt', resource: storage, context: viaDynamo })).toBe(true);
  });
});
