import * as path from 'node:path';
import { loadPolicy } from '@cloud-copilot/iam-policy';
import { runSimulation } from '@cloud-copilot/iam-simulate';

/**
 * The IAM policy evaluator of @cloud-copilot/iam-simulate (AGPL-3.0-or-later; a devDependency used only by the
 * tests and the red team, never shipped in a bundle). Two limits of its public entry points in 0.1.173 make this adapter:
 * `runSimulation` drops request context keys of the `kms:EncryptionContext:<key>` form before evaluating
 * (its variable-key matcher only knows `prefix/name` keys such as `aws:PrincipalTag/x`), and
 * `runUnsafeSimulation` fails on any resource policy. So each request is first validated with
 * `runSimulation` (policy grammar, action, resource type) and then decided by the library's own
 * `authorize`, with the full context.
 */
const root = path.dirname(require.resolve('@cloud-copilot/iam-simulate'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { authorize } = require(path.join(root, 'core_engine', 'CoreSimulatorEngine.js'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { AwsRequestImpl } = require(path.join(root, 'request', 'request.js'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RequestContextImpl } = require(path.join(root, 'requestContext.js'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DiscoveryContextKeyConstraints } = require(path.join(root, 'context_keys', 'discoveryContextKeyConstraints.js'));

export type PolicyDocument = { Version?: string; Statement: unknown[] };

export interface SimulatedRequest {
  /** The calling session, e.g. `arn:aws:sts::111122223333:assumed-role/Role/session`. */
  readonly principal: string;
  readonly action: string;
  readonly resourceArn: string;
  readonly accountId: string;
  readonly context: Record<string, string | string[]>;
  readonly identityPolicies: ReadonlyArray<{ readonly name: string; readonly policy: PolicyDocument }>;
  readonly resourcePolicy?: PolicyDocument;
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** The library's public entry point, with the request's context (which it filters before evaluating). */
export async function publicSimulation(req: SimulatedRequest): Promise<Decision | 'error'> {
  const result = await runSimulation(
    {
      request: {
        principal: req.principal,
        action: req.action,
        resource: { resource: req.resourceArn, accountId: req.accountId },
        contextVariables: { ...req.context },
      },
      identityPolicies: req.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: req.resourcePolicy,
    },
    {},
  );
  return result.resultType === 'error' ? 'error' : (result.overallResult as Decision);
}

/** Validates the request and its policies with the library's checks; throws on anything it rejects. */
export async function validateRequest(req: SimulatedRequest): Promise<void> {
  const result = await runSimulation(
    {
      request: {
        principal: req.principal,
        action: req.action,
        resource: { resource: req.resourceArn, accountId: req.accountId },
        contextVariables: {},
      },
      identityPolicies: req.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: req.resourcePolicy,
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(`iam-simulate rejected ${req.action} on ${req.resourceArn}: ${JSON.stringify(result.errors)}`);
  }
}

/** The evaluator's decision for one request, with identity and resource policies as AWS combines them. */
export function decide(req: SimulatedRequest): Decision {
  const analysis = authorize({
    request: new AwsRequestImpl(
      req.principal,
      { resource: req.resourceArn, accountId: req.accountId },
      req.action,
      new RequestContextImpl({ ...req.context }),
      false,
    ),
    sessionPolicy: undefined,
    identityPolicies: req.identityPolicies.map((p) => loadPolicy(p.policy, { name: p.name })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: req.resourcePolicy ? loadPolicy(req.resourcePolicy, { name: 'ResourcePolicy' }) : undefined,
    permissionBoundaries: undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: { simulationMode: 'Strict', discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) },
    serviceSettings: { s3: {} },
  });
  return analysis.result as Decision;
}
