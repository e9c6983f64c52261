import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseTopology } from '../../functions/kernel/topology/topology';
import { readEnvironment } from '../../functions/platform/environment';
import { Caller, PolicyEvaluator } from '../../redteam/iam/policy-evaluator';
import { ACCOUNT, REGION, TemplateArns } from '../../redteam/iam/template-arns';
import { Synthesized, logicalIdOf, synthesize } from './support/synth';
import { taggedResources } from './support/template-lookup';

/**
 * Model API keys in Secrets Manager: each endpoint that names `apiKeySecret` gets a secret with no value in the
 * template, encrypted under a key usable only through Secrets Manager, readable by the agents whose model is that
 * endpoint and by no other principal (identity policies and the key policy, evaluated by the IAM evaluator).
 */

const CONFIG = path.resolve(__dirname, '..', '..', 'agentsec.config.json');

/** The default topology with a second secret: the partner endpoint (the scheduler's model) behind HTTPS with its own key. */
function twoSecrets() {
  const raw = JSON.parse(readFileSync(CONFIG, 'utf8'));
  raw.modelEndpoints.partner.baseUrl = 'https://partner.example/v1';
  raw.modelEndpoints.partner.apiKeySecret = 'agentsec/partner';
  return parseTopology(raw);
}

/** An account administrator from outside the stack: every Secrets Manager and KMS action in its identity policy. */
const administrator: Caller = {
  roleArn: `arn:aws:iam::${ACCOUNT}:role/Administrator`,
  identityPolicies: [
    {
      name: 'SecretsAndKeysAdministrator',
      policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['secretsmanager:*', 'kms:*'], Resource: '*' }] },
    },
  ],
};

const VIA_SECRETS_MANAGER = `secretsmanager.${REGION}.amazonaws.com`;

describe('model API keys in Secrets Manager', () => {
  let s: Synthesized;
  let evaluator: PolicyEvaluator;
  let arns: TemplateArns;
  /** Every role of the template by logical id: the agents, the services, the seeder, the console publisher. */
  let roles: string[];
  /** The agent whose role each agent role id is, if any. */
  let agentOfRole: Map<string, string>;
  let key: string;
  /** Secret logical id by secret name. */
  let secrets: Map<string, string>;

  beforeAll(() => {
    s = synthesize({ topology: twoSecrets() });
    evaluator = new PolicyEvaluator(s.json);
    arns = new TemplateArns(s.json);
    roles = Object.entries(s.json.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role').map(([id]) => id);
    agentOfRole = new Map([...s.stack.agents.values()].map((a) => [logicalIdOf(s.stack, a.role), a.actorName]));
    [key] = taggedResources(s.json.Resources, 'AWS::KMS::Key', 'agentsec:purpose', 'model-secrets');
    secrets = new Map(
      Object.entries(s.json.Resources)
        .filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret')
        .map(([id, r]) => [r.Properties!.Name as string, id]),
    );
  });

  /** The agents whose model endpoint names `secretName`: the only principals that may read it. */
  const readersOf = (secretName: string) =>
    [...s.topology.agents.values()].filter((a) => s.topology.modelEndpoint(a.model).apiKeySecret === secretName).map((a) => a.name).sort();

  /** The context KMS sees when Secrets Manager opens the current value of `secretName` for its caller. */
  const openingContext = (secretName: string) => ({
    'kms:ViaService': VIA_SECRETS_MANAGER,
    'kms:CallerAccount': ACCOUNT,
    'kms:EncryptionContext:SecretARN': arns.arn(secrets.get(secretName)!),
    'kms:EncryptionContext:SecretVersionId': '6f1c2a9e-0b7d-4e35-9d8a-2c4b1e7f5a30',
  });

  it('creates one secret per endpoint that names one, with no value in the template, under the model secrets key, kept on delete', () => {
    expect([...secrets.keys()].sort()).toEqual(['agentsec/openai', 'agentsec/partner']);
    for (const id of secrets.values()) {
      const secret = s.json.Resources[id];
      expect(secret.Properties).not.toHaveProperty('SecretString');
      expect(secret.Properties).not.toHaveProperty('GenerateSecretString');
      expect(secret.Properties!.KmsKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
      expect([secret.DeletionPolicy, secret.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
    }
    const k = s.json.Resources[key];
    expect([k.Properties!.EnableKeyRotation, k.Properties!.PendingWindowInDays, k.DeletionPolicy]).toEqual([true, 30, 'Retain']);
  });

  it("every role × secret: only the agents whose model is the secret's endpoint may GetSecretValue (identity policies)", async () => {
    const wrong: string[] = [];
    for (const [name, secret] of secrets) {
      const readers = readersOf(name);
      for (const role of roles) {
        const allowed = await evaluator.allows({ caller: { role }, action: 'secretsmanager:GetSecretValue', resource: secret });
        const expected = readers.includes(agentOfRole.get(role) ?? '');
        if (allowed !== expected) wrong.push(`${agentOfRole.get(role) ?? role} ${allowed ? 'CAN' : 'cannot'} read ${name}`);
      }
    }
    expect(readersOf('agentsec/openai')).toEqual(['edge']);
    expect(readersOf('agentsec/partner')).toEqual(['scheduler']);
    expect(wrong).toEqual([]);
  });

  it('every role × secret: only those agents may Decrypt its value through Secrets Manager (identity and key policies, each layer alone too)', async () => {
    const wrong: string[] = [];
    for (const name of secrets.keys()) {
      const readers = readersOf(name);
      for (const role of roles) {
        for (const layer of [undefined, 'identity', 'resource'] as const) {
          const allowed = await evaluator.allows({ caller: { role }, action: 'kms:Decrypt', resource: key, context: openingContext(name), ...(layer ? { layer } : {}) });
          const expected = readers.includes(agentOfRole.get(role) ?? '');
          if (allowed !== expected) wrong.push(`${agentOfRole.get(role) ?? role} ${allowed ? 'CAN' : 'cannot'} open ${name}${layer ? ` (${layer} layer alone)` : ''}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('an agent cannot open the key outside Secrets Manager, nor another endpoint’s secret', async () => {
    const edge = { role: logicalIdOf(s.stack, s.stack.agent('edge').role) };
    const direct = { ...openingContext('agentsec/openai'), 'kms:ViaService': `lambda.${REGION}.amazonaws.com` };
    expect(await evaluator.allows({ caller: edge, action: 'kms:Decrypt', resource: key, context: direct })).toBe(false);
    expect(await evaluator.allows({ caller: edge, action: 'kms:Decrypt', resource: key, context: openingContext('agentsec/partner') })).toBe(false);
    expect(await evaluator.allows({ caller: edge, action: 'kms:Decrypt', resource: key, context: openingContext('agentsec/openai') })).toBe(true);
  });

  it('an account administrator can set a value (GenerateDataKey through Secrets Manager) but cannot read one', async () => {
    for (const name of secrets.keys()) {
      const context = openingContext(name);
      expect(await evaluator.allows({ caller: administrator, action: 'kms:GenerateDataKey', resource: key, context })).toBe(true);
      expect(await evaluator.decide({ caller: administrator, action: 'kms:Decrypt', resource: key, context })).toBe('ImplicitlyDenied');
      // Secrets Manager's check when a secret is created under the key: a throwaway context that opens no value.
      const validation = { ...context, 'kms:EncryptionContext:SecretVersionId': 'RequestToValidateKeyAccess' };
      expect(await evaluator.allows({ caller: administrator, action: 'kms:Decrypt', resource: key, context: validation })).toBe(true);
      // Outside Secrets Manager the key does nothing for anyone.
      const direct = { ...context, 'kms:ViaService': `lambda.${REGION}.amazonaws.com` };
      expect(await evaluator.allows({ caller: administrator, action: 'kms:GenerateDataKey', resource: key, context: direct })).toBe(false);
    }
  });

  it("passes each secret's ARN to its readers' functions only (AGENTSEC_MODEL_SECRETS, by endpoint)", () => {
    const environmentOf = (fn: { node: { defaultChild?: unknown } }) =>
      arns.resolve(s.json.Resources[logicalIdOf(s.stack, fn)].Properties!.Environment.Variables) as Record<string, string>;
    for (const agent of s.stack.agents.values()) {
      const env = readEnvironment(environmentOf(agent.handler.fn));
      const secretName = s.topology.modelEndpoint(agent.config.model).apiKeySecret;
      expect(env.AGENTSEC_MODEL_SECRETS).toEqual(secretName ? { [agent.config.model]: arns.arn(secrets.get(secretName)!) } : {});
    }
    for (const service of [s.stack.api, s.stack.signer, s.stack.effects, s.stack.sequencer]) {
      expect(environmentOf(service.handler.fn)).not.toHaveProperty('AGENTSEC_MODEL_SECRETS');
    }
  });

  it('the default topology keeps the OpenAI key in agentsec/openai, for the edge agent alone', () => {
    const byDefault = synthesize();
    const names = Object.values(byDefault.json.Resources).filter((r) => r.Type === 'AWS::SecretsManager::Secret').map((r) => r.Properties!.Name);
    expect(names).toEqual(['agentsec/openai']);
    expect(byDefault.stack.modelSecrets.environmentOf(byDefault.stack.agent('edge'))).toEqual({ external: expect.any(String) });
  });

  it('a topology that names no secret creates no secret and no key', () => {
    const raw = JSON.parse(readFileSync(CONFIG, 'utf8'));
    for (const endpoint of Object.values<Record<string, unknown>>(raw.modelEndpoints)) delete endpoint.apiKeySecret;
    const none = synthesize({ topology: parseTopology(raw) });
    expect(Object.values(none.json.Resources).filter((r) => r.Type === 'AWS::SecretsManager::Secret')).toEqual([]);
    expect(taggedResources(none.json.Resources, 'AWS::KMS::Key', 'agentsec:purpose', 'model-secrets')).toEqual([]);
    expect(none.stack.modelSecrets.key).toBeUndefined();
  });
});
