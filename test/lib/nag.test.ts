import { Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Synthesized, logicalIdOf, synthesize } from './support/synth';
import { customResourceProviders } from './support/template-lookup';

interface Acknowledgment {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

function acknowledgments(root: IConstruct): Acknowledgment[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason }))),
  );
}

/** Every finding of the pack, as if nothing were acknowledged. */
function rawFindings(root: IConstruct): Array<{ rule: string; path: string }> {
  const pack = new AwsSolutionsChecks(root);
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  return pack.validateScope(root).violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));
}

/** cdk-nag's AwsSolutions pack: zero findings that are not acknowledged with a written reason. */
describe('cdk-nag AwsSolutions', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize();
  });

  it('reports no finding that is not acknowledged', () => {
    const report = new AwsSolutionsChecks(s.app).validateScope(s.app);
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges each finding with a written reason, and every acknowledgment answers a real finding', () => {
    const acks = acknowledgments(s.app);
    const findings = rawFindings(s.app);
    console.log(`cdk-nag acknowledgments:\n${acks.map((a) => `  ${a.id} @ ${a.path}\n      ${a.reason}`).join('\n')}`);
    for (const ack of acks) {
      expect(ack.reason.length).toBeGreaterThan(40);
      const answered = findings.some((f) => f.rule === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)));
      expect({ ack: `${ack.id} @ ${ack.path}`, answered }).toEqual({ ack: `${ack.id} @ ${ack.path}`, answered: true });
    }
  });

  it('acknowledges only optional MFA and the absent Plus tier on the user pool, X-Ray writes and the stream listing a stream event source needs, and what CloudFront and BucketDeployment fix for the console; nothing on KMS or queues', () => {
    const consoleBucket = logicalIdOf(s.stack, s.stack.console.bucket);
    const [publisher] = customResourceProviders(s.json.Resources);
    // Every function writes its X-Ray traces (active tracing), which IAM cannot narrow to a resource.
    const functionRoles = [...s.stack.actors(), s.stack.sequencer].map((actor) => actor.role.node.path);
    expect(acknowledgments(s.app).map((a) => `${a.id} @ ${a.path}`).sort()).toEqual(
      [
        'AwsSolutions-COG2 @ AgentSec/Api/Users',
        'AwsSolutions-COG8 @ AgentSec/Api/Users',
        ...functionRoles.map((role) => `AwsSolutions-IAM5[Resource::*] @ ${role}`),
        // No geo restriction, the default certificate's TLS policy, and no web ACL unless one is given.
        'AwsSolutions-CFR1 @ AgentSec/Console/Distribution',
        'AwsSolutions-CFR2 @ AgentSec/Console/Distribution',
        'AwsSolutions-CFR4 @ AgentSec/Console/Distribution',
        // The publisher writes the console bucket's objects, on the Python runtime BucketDeployment pins.
        `AwsSolutions-IAM5[Resource::<${consoleBucket}.Arn>/*] @ AgentSec/Console/PublisherPolicy`,
        `AwsSolutions-L1 @ ${s.stack.node.findAll().find((c) => c instanceof lambda.Function && logicalIdOf(s.stack, c) === publisher)!.node.path}`,
        // A model provider's API key, which no rotation function can mint.
        'AwsSolutions-SMG4 @ AgentSec/ModelSecrets/Secret-agentsec-openai',
      ].sort(),
    );
    // The wildcards are X-Ray's writes and the sequencer's dynamodb:ListStreams (no resource-level permissions); every
    // other action names a resource.
    const xray = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];
    for (const [id, policy] of Object.entries(s.json.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Policy')) {
      const wildcards = policy.Properties!.PolicyDocument.Statement.filter((st: { Resource: unknown }) => st.Resource === '*');
      const expected = id.startsWith('SequencerHandlerRoleDefaultPolicy') ? [xray, 'dynamodb:ListStreams'] : id.includes('HandlerRoleDefaultPolicy') ? [xray] : [];
      expect({ id, wildcards: wildcards.map((st: { Action: unknown }) => st.Action) }).toEqual({ id, wildcards: expected });
    }
  });

  it('finds a new problem: a key without rotation added to the stack is reported', async () => {
    const fresh = synthesize();
    const { Key } = await import('aws-cdk-lib/aws-kms');
    new Key(fresh.stack, 'UnrotatedProbe');
    const report = new AwsSolutionsChecks(fresh.app).validateScope(fresh.app);
    expect(report.violations.map((v) => v.ruleName)).toEqual(['AwsSolutions-KMS5']);
  });
});
