import { CloudFormationTemplate } from './template';
import { Decision, PolicyDocument, SimulatedRequest, decide, validateRequest } from './simulator';
import { ACCOUNT, TemplateArns } from './template-arns';

const ALLOW_EVERYTHING: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const TRUST_ACCOUNT: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: '*', Resource: '*' }],
};

/** A caller: a role of the template (by logical id), or one from outside it with its own identity policies. */
export type Caller =
  | { readonly role: string }
  | { readonly roleArn: string; readonly identityPolicies: ReadonlyArray<{ name: string; policy: PolicyDocument }> };

export interface AccessQuestion {
  readonly caller: Caller;
  readonly action: string;
  /** Logical id of the resource in the template. */
  readonly resource: string;
  /** The resource's stream rather than the resource (a DynamoDB table's `StreamArn`). */
  readonly stream?: true;
  readonly context?: Record<string, string>;
  /**
   * Judge one layer alone: the other is replaced by one that allows everything (`identity`: the resource
   * policy trusts the whole account; `resource`: the caller may do anything), so a grant written in only one
   * layer shows up.
   */
  readonly layer?: 'identity' | 'resource';
}

/**
 * Answers "may this caller do this to that resource?" from the synthesized template: the caller's identity
 * policies, the resource's policy (key policy, queue policy), evaluated by the IAM simulator.
 */
export class PolicyEvaluator {
  readonly arns: TemplateArns;
  private readonly validated = new Set<string>();

  constructor(private readonly template: CloudFormationTemplate) {
    this.arns = new TemplateArns(template);
  }

  /** The identity policies attached to a role: its inline `Policies` and every `AWS::IAM::Policy` naming it. */
  identityPolicies(role: string): Array<{ name: string; policy: PolicyDocument }> {
    const props = this.template.Resources[role]?.Properties ?? {};
    if (props.ManagedPolicyArns?.length) throw new Error(`${role} has managed policies; the evaluator does not read them`);
    const inline = (props.Policies ?? []).map((p: { PolicyName: string; PolicyDocument: unknown }) => ({
      name: p.PolicyName,
      policy: this.arns.resolve(p.PolicyDocument),
    }));
    const attached = Object.entries(this.template.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && (r.Properties?.Roles ?? []).some((x: { Ref?: string }) => x.Ref === role))
      .map(([id, r]) => ({ name: id, policy: this.arns.resolve(r.Properties!.PolicyDocument) }));
    return [...inline, ...attached];
  }

  /** The resource-based policy CloudFormation attaches to a resource, if any. */
  resourcePolicy(resource: string): PolicyDocument | undefined {
    const r = this.template.Resources[resource];
    if (r.Type === 'AWS::KMS::Key') return this.arns.resolve(r.Properties!.KeyPolicy);
    if (r.Type === 'AWS::SQS::Queue') {
      const statements = Object.values(this.template.Resources)
        .filter((p) => p.Type === 'AWS::SQS::QueuePolicy' && p.Properties!.Queues.some((q: { Ref?: string }) => q.Ref === resource))
        .flatMap((p) => this.arns.resolve(p.Properties!.PolicyDocument).Statement);
      return statements.length ? { Version: '2012-10-17', Statement: statements } : undefined;
    }
    return undefined;
  }

  /** The request the simulator is asked, with the caller's policies and the resource's policy. */
  request(q: AccessQuestion): SimulatedRequest {
    const roleArn = 'role' in q.caller ? this.arns.arn(q.caller.role) : q.caller.roleArn;
    const roleName = roleArn.split('/').pop();
    const identityPolicies = 'role' in q.caller ? this.identityPolicies(q.caller.role) : [...q.caller.identityPolicies];
    return {
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/session`,
      action: q.action,
      resourceArn: q.stream ? this.arns.streamArn(q.resource) : this.arns.arn(q.resource),
      accountId: ACCOUNT,
      context: { 'aws:PrincipalArn': roleArn, 'aws:PrincipalAccount': ACCOUNT, 'aws:SecureTransport': 'true', ...q.context },
      identityPolicies: q.layer === 'resource' ? [{ name: 'AllowEverything', policy: ALLOW_EVERYTHING }] : identityPolicies,
      resourcePolicy: q.layer === 'identity' ? TRUST_ACCOUNT : this.resourcePolicy(q.resource),
    };
  }

  /** The simulator's decision; every distinct request shape is validated once by the simulator's own checks. */
  async decide(q: AccessQuestion): Promise<Decision> {
    const req = this.request(q);
    const shape = `${req.context['aws:PrincipalArn']}|${q.action}|${q.resource}${q.stream ? '/stream' : ''}|${q.layer ?? ''}`;
    if (!this.validated.has(shape)) {
      await validateRequest(req);
      this.validated.add(shape);
    }
    return decide(req);
  }

  async allows(q: AccessQuestion): Promise<boolean> {
    return (await this.decide(q)) === 'Allowed';
  }
}
