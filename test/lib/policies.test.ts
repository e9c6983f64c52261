import { PolicyDocument } from '../../redteam/iam/simulator';
import { PolicyEvaluator } from '../../redteam/iam/policy-evaluator';
import { Synthesized, synthesize } from './support/synth';
import { keyIds, principalRoles } from './support/template-lookup';

/**
 * The security-relevant documents of the template, pinned one statement per line: every role's identity
 * policy and the key policies of the level keys and the authority key. A change to a grant shows up as a
 * small diff of named lines here (update with `npx jest test/lib/policies.test.ts -u` after reviewing it).
 *
 * Intrinsics are resolved by the shared TemplateArns (through PolicyEvaluator), then every resource's ARN or
 * logical id is replaced by a stable name: `key:SECRET`, `role:core`, or `<service>:<logical id without its
 * hash suffix>` (`sqs:AgentcoreInbox`). Statements, actions, resources and condition values are sorted.
 */
describe('the reviewed security policies', () => {
  let s: Synthesized;
  let evaluator: PolicyEvaluator;
  let roles: Map<string, string>;
  let keys: ReturnType<typeof keyIds>;
  let names: Array<[string, string]>;

  beforeAll(() => {
    s = synthesize();
    evaluator = new PolicyEvaluator(s.json);
    roles = principalRoles(s);
    keys = keyIds(s);
    names = stableNames(s, evaluator, roles, keys);
  });

  /** The stable name of a role: the principal's name, or its logical id without the hash for any other role. */
  const roleName = (id: string) => [...roles].find(([, r]) => r === id)?.[0] ?? withoutHash(id);

  it('every agent role’s identity policy is the reviewed one', () => {
    const roleIds = Object.keys(s.json.Resources).filter((id) => s.json.Resources[id].Type === 'AWS::IAM::Role');
    // Every role of the stack is here, including any role no principal name accounts for, each under its own name.
    expect(new Set(roleIds.map(roleName)).size).toBe(roleIds.length);
    const policies = Object.fromEntries(
      roleIds.map((id) => [
        roleName(id),
        evaluator
          .identityPolicies(id)
          .flatMap((p) => statementsOf(p.policy))
          .map((st) => formatStatement(rename(st, names)))
          .sort(),
      ]),
    );
    expect(policies).toMatchSnapshot();
  });

  it('the level keys’ and the authority key’s key policies are the reviewed ones', () => {
    const pinned = [...keys].filter(([name]) => name !== 'storage');
    expect(pinned.map(([name]) => name).sort()).toEqual(['CONFIDENTIAL', 'SECRET', 'TOP_SECRET', 'UNCLASSIFIED', 'authority']);
    const policies = Object.fromEntries(
      pinned.map(([name, id]) => [
        `key:${name}`,
        statementsOf(evaluator.resourcePolicy(id)!)
          .map((st) => formatStatement(rename(st, names)))
          .sort(),
      ]),
    );
    expect(policies).toMatchSnapshot();
  });
});

type Statement = Record<string, unknown>;

/** A logical id without the 8-character hash CDK appends (`AgentcoreInbox23C80185` → `AgentcoreInbox`). */
function withoutHash(logicalId: string): string {
  return logicalId.replace(/[0-9A-F]{8}$/, '');
}

/**
 * The concrete strings the shared resolver gives for each resource (its ARN, then its logical id) with the
 * stable name each is shown as; ARNs first, so a logical id inside an ARN never leaves a partial ARN behind.
 */
function stableNames(s: Synthesized, evaluator: PolicyEvaluator, roles: Map<string, string>, keys: Map<string, string>): Array<[string, string]> {
  const named = new Map<string, string>([
    ...[...keys].map(([name, id]): [string, string] => [id, `key:${name}`]),
    ...[...roles].map(([name, id]): [string, string] => [id, `role:${name}`]),
  ]);
  const ids = Object.keys(s.json.Resources).sort((a, b) => b.length - a.length || a.localeCompare(b));
  const nameOf = (id: string) => named.get(id) ?? `${serviceOf(s.json.Resources[id].Type)}:${withoutHash(id)}`;
  const arns: Array<[string, string]> = [];
  for (const id of ids) {
    try {
      arns.push([evaluator.arns.arn(id), nameOf(id)]);
    } catch {
      // No ARN rule for this type: it can only appear by its logical id.
    }
  }
  // An asset's object key changes with its contents: it is shown as the deployment that publishes it and its place there.
  const assets = Object.entries(s.json.Resources)
    .filter(([, r]) => r.Type === 'Custom::CDKBucketDeployment')
    .flatMap(([id, r]) => (r.Properties!.SourceObjectKeys as string[]).map((key, i): [string, string] => [key, `${withoutHash(id)}[${i}]`]));
  return [...assets, ...arns, ...ids.map((id): [string, string] => [id, nameOf(id)])];
}

/** `AWS::SQS::Queue` → `sqs`. */
function serviceOf(type: string): string {
  return type.split('::')[1].toLowerCase();
}

function rename(value: unknown, names: ReadonlyArray<[string, string]>): any {
  if (typeof value === 'string') return names.reduce((v, [from, to]) => v.split(from).join(to), value);
  if (Array.isArray(value)) return value.map((v) => rename(v, names));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rename(v, names)]));
  return value;
}

function statementsOf(policy: PolicyDocument): Statement[] {
  return policy.Statement as Statement[];
}

/** A string or a list as one sorted, comma-separated list. */
function list(value: unknown): string {
  return (Array.isArray(value) ? [...value] : [value]).map(String).sort().join(',');
}

/** Keys sorted at every level and lists of values sorted (condition values and principals are sets). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * One statement on one line: `[Sid: ]Effect actions on resources[ for principal][ when conditions]`, and any
 * other element (NotAction, NotResource, NotPrincipal) appended as-is, so nothing is silently left out.
 */
function formatStatement(st: Statement): string {
  const { Sid, Effect, Action, Resource, Principal, Condition, ...rest } = st;
  let line = `${Sid ? `${Sid}: ` : ''}${Effect} ${Action === undefined ? '-' : list(Action)} on ${Resource === undefined ? '-' : list(Resource)}`;
  if (Principal !== undefined) line += ` for ${JSON.stringify(canonical(Principal))}`;
  if (Condition !== undefined) line += ` when ${JSON.stringify(canonical(Condition))}`;
  for (const k of Object.keys(rest).sort()) line += ` ${k}=${JSON.stringify(canonical(rest[k]))}`;
  return line;
}
