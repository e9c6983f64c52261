import { Level } from '../../../functions/kernel/labels';
import { KeyName } from './expected-access';
import { Synthesized, logicalIdOf } from './synth';

type Resources = Synthesized['json']['Resources'];

/** The value of tag `key` on a resource, if any. */
export function tagOf(resource: Resources[string], key: string): string | undefined {
  const tags = (resource.Properties?.Tags ?? []) as Array<{ Key: string; Value: string }>;
  return tags.find((t) => t.Key === key)?.Value;
}

/** Logical ids of the resources of `type` whose tag `key` is `value`. */
export function taggedResources(resources: Resources, type: string, key: string, value: string): string[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === type && tagOf(r, key) === value)
    .map(([id]) => id);
}

function single(ids: string[], what: string): string {
  if (ids.length !== 1) throw new Error(`expected exactly one ${what}, found ${ids.length}`);
  return ids[0];
}

/**
 * The principals of the stack by name, found as an outside test finds them: agent roles by `agentsec:agent`,
 * the signer and the effect gateway by `agentsec:purpose`; the API's role (which has no contract tag) through the construct.
 */
export function principalRoles(s: Synthesized): Map<string, string> {
  const roles = new Map<string, string>();
  for (const name of s.topology.agentNames()) {
    roles.set(name, single(taggedResources(s.json.Resources, 'AWS::IAM::Role', 'agentsec:agent', name), `role of agent ${name}`));
  }
  roles.set('api', logicalIdOf(s.stack, s.stack.api.role));
  roles.set('signer', single(taggedResources(s.json.Resources, 'AWS::IAM::Role', 'agentsec:purpose', 'signer'), 'signer role'));
  roles.set('effects', single(taggedResources(s.json.Resources, 'AWS::IAM::Role', 'agentsec:purpose', 'effects'), 'effect gateway role'));
  roles.set('sequencer', single(taggedResources(s.json.Resources, 'AWS::IAM::Role', 'agentsec:purpose', 'sequencer'), 'sequencer role'));
  return roles;
}

/** The keys of the stack by name: level keys by `agentsec:level`, the authority key by `agentsec:purpose`. */
export function keyIds(s: Synthesized): Map<KeyName, string> {
  const keys = new Map<KeyName, string>();
  for (const level of ['UNCLASSIFIED', 'CONFIDENTIAL', 'SECRET', 'TOP_SECRET'] as Level[]) {
    keys.set(level, single(taggedResources(s.json.Resources, 'AWS::KMS::Key', 'agentsec:level', level), `${level} key`));
  }
  keys.set('authority', single(taggedResources(s.json.Resources, 'AWS::KMS::Key', 'agentsec:purpose', 'authority'), 'authority key'));
  keys.set('storage', logicalIdOf(s.stack, s.stack.data.storageKey));
  return keys;
}

/**
 * Logical ids of the functions behind custom resources (the console's BucketDeployment): aws-cdk-lib's code and
 * runtime, run by CloudFormation during a deployment, acting for no principal of DESIGN §3.
 */
export function customResourceProviders(resources: Resources): Set<string> {
  return new Set(
    Object.values(resources)
      .filter((r) => r.Type.startsWith('Custom::'))
      .map((r) => r.Properties?.ServiceToken?.['Fn::GetAtt']?.[0] as string),
  );
}

/** Logical ids of the stack's own functions (HandlerFunction): every Lambda function but the custom resource providers. */
export function handlerFunctionIds(resources: Resources): string[] {
  const providers = customResourceProviders(resources);
  return Object.entries(resources)
    .filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && !providers.has(id))
    .map(([id]) => id);
}
