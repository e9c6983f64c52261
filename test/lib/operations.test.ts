import { AwsSolutionsChecks } from 'cdk-nag';
import { METRIC, METRICS_NAMESPACE, SERVICE_DIMENSION, serviceNameOf } from '../../functions/platform/metrics';
import { Synthesized, logicalIdOf, synthesize } from './support/synth';
import { handlerFunctionIds, principalRoles } from './support/template-lookup';

/**
 * Operations (issue 15): alarms on what must not go unnoticed, an encrypted topic that tells an operator of each when
 * an address is given, and every function traced and named for Powertools. Judged on the synthesized template.
 */

type Resource = Synthesized['json']['Resources'][string];
type Dimension = { Name: string; Value: unknown };

const ofType = (s: Synthesized, type: string): Array<[string, Resource]> => Object.entries(s.json.Resources).filter(([, r]) => r.Type === type);
const alarms = (s: Synthesized) => ofType(s, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties!);

/** The alarms on `metricName` in `namespace` whose dimensions are exactly `dimensions`. */
function alarmsOn(s: Synthesized, namespace: string, metricName: string, dimensions: Dimension[]) {
  return alarms(s).filter(
    (a) => a.Namespace === namespace && a.MetricName === metricName && JSON.stringify(a.Dimensions ?? []) === JSON.stringify(dimensions),
  );
}

/** The one alarm on the metric, firing above `threshold`. */
function expectOneAlarm(s: Synthesized, namespace: string, metricName: string, dimensions: Dimension[], threshold: number): void {
  const found = alarmsOn(s, namespace, metricName, dimensions);
  expect({ metricName, dimensions, found: found.length }).toEqual({ metricName, dimensions, found: 1 });
  expect(found[0]).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: threshold, TreatMissingData: 'notBreaching' });
}

/** The function (logical id and properties) whose role is the principal's. */
function functionOf(s: Synthesized, principal: string): [string, Resource] {
  const role = principalRoles(s).get(principal)!;
  const [found] = ofType(s, 'AWS::Lambda::Function').filter(([, r]) => r.Properties!.Role?.['Fn::GetAtt']?.[0] === role);
  return found;
}

const environmentOf = (fn: Resource) => fn.Properties!.Environment.Variables as Record<string, unknown>;

describe('operations: the alarms', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize();
  });

  it('alarms when any agent has a message in its dead-letter queue, and when its failed queue is not emptied', () => {
    for (const agent of s.stack.agents.values()) {
      for (const queue of [agent.deadLetterQueue, agent.failedQueue]) {
        const dimensions = [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalIdOf(s.stack, queue), 'QueueName'] } }];
        expectOneAlarm(s, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', dimensions, 0);
      }
    }
  });

  it('alarms on the signer’s errors, and on the sequencer’s errors and its stream’s iterator age', () => {
    const fn = (principal: string) => [{ Name: 'FunctionName', Value: { Ref: functionOf(s, principal)[0] } }];
    expectOneAlarm(s, 'AWS/Lambda', 'Errors', fn('signer'), 0);
    expectOneAlarm(s, 'AWS/Lambda', 'Errors', fn('sequencer'), 0);
    expectOneAlarm(s, 'AWS/Lambda', 'IteratorAge', fn('sequencer'), 60_000);
  });

  it('alarms on tampering, refused entries and a surge of refusals, on the metrics the sequencer function emits under its service name', () => {
    const service = environmentOf(functionOf(s, 'sequencer')[1]).POWERTOOLS_SERVICE_NAME;
    expect(service).toBe(serviceNameOf('sequencer'));
    const bySequencer = [{ Name: SERVICE_DIMENSION, Value: service }];
    expectOneAlarm(s, METRICS_NAMESPACE, METRIC.ledgerTampered, bySequencer, 0);
    expectOneAlarm(s, METRICS_NAMESPACE, METRIC.ledgerRefused, bySequencer, 0);
    expectOneAlarm(s, METRICS_NAMESPACE, METRIC.refusals, bySequencer, 10);
    expect(METRICS_NAMESPACE).toBe('AgentSec');
  });

  it('has no alarm topic and no alarm action without alarmEmail', () => {
    expect(ofType(s, 'AWS::SNS::Topic')).toEqual([]);
    expect(s.stack.operations.topic).toBeUndefined();
    for (const alarm of alarms(s)) {
      expect(alarm.AlarmActions).toBeUndefined();
      expect(alarm.OKActions).toBeUndefined();
    }
    expect(Object.keys(s.json.Outputs ?? {})).not.toContain('AlarmTopicArn');
  });

  it('refuses an alarm address that is not an email address', () => {
    expect(() => synthesize({ alarmEmail: 'ops' })).toThrow(/alarmEmail must be an email address/);
  });
});

describe('operations: with alarmEmail', () => {
  let s: Synthesized;
  let topicId: string;
  beforeAll(() => {
    s = synthesize({ alarmEmail: 'ops@example.com' });
    const topics = ofType(s, 'AWS::SNS::Topic');
    expect(topics).toHaveLength(1);
    topicId = topics[0][0];
  });

  it('every alarm notifies the topic when it fires and when it clears', () => {
    const all = alarms(s);
    expect(all.length).toBe(2 * s.stack.agents.size + 6);
    for (const alarm of all) {
      expect({ alarm: alarm.AlarmName, actions: alarm.AlarmActions }).toEqual({ alarm: alarm.AlarmName, actions: [{ Ref: topicId }] });
      expect({ alarm: alarm.AlarmName, ok: alarm.OKActions }).toEqual({ alarm: alarm.AlarmName, ok: [{ Ref: topicId }] });
    }
  });

  it('subscribes the address, and says where the topic is', () => {
    s.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topicId } });
    expect(s.json.Outputs!.AlarmTopicArn.Value).toEqual({ Ref: topicId });
  });

  it('encrypts the topic with a rotating key of its own that only CloudWatch, for this stack’s alarms, may use', () => {
    const topic = s.json.Resources[topicId].Properties!;
    const keyId = topic.KmsMasterKeyId['Fn::GetAtt'][0] as string;
    const key = s.json.Resources[keyId].Properties!;
    expect(key.EnableKeyRotation).toBe(true);
    const uses = (key.KeyPolicy.Statement as Array<{ Sid: string; Principal: unknown; Action: unknown; Condition?: unknown }>).filter(
      (st) => st.Sid !== 'KeyAdministrationWithoutCryptographicUse',
    );
    expect(uses).toEqual([
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: { 'aws:SourceArn': expect.objectContaining({ 'Fn::Join': expect.anything() }) },
        },
      }),
    ]);
    expect(JSON.stringify(uses[0].Condition)).toContain(':alarm:AgentSec-*');
  });

  it('lets CloudWatch publish to the topic for this stack’s alarms only, and refuses publishing without TLS', () => {
    const [[, policy]] = ofType(s, 'AWS::SNS::TopicPolicy');
    const statements = policy.Properties!.PolicyDocument.Statement as Array<Record<string, unknown>>;
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    const allows = statements.filter((st) => st.Effect === 'Allow');
    expect(allows).toEqual([
      expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Resource: { Ref: topicId } }),
    ]);
    expect(JSON.stringify(allows[0].Condition)).toContain(':alarm:AgentSec-*');
    // Each alarm's name carries the prefix the conditions name.
    for (const alarm of alarms(s)) expect(alarm.AlarmName).toMatch(/^AgentSec-/);
  });

  it('keeps cdk-nag’s AwsSolutions pack clean', () => {
    const report = new AwsSolutionsChecks(s.app).validateScope(s.app);
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});

describe('operations: traces and Powertools settings', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize();
  });

  it('traces every Node.js function actively, and lets each write its traces', () => {
    const node = ofType(s, 'AWS::Lambda::Function').filter(([, r]) => String(r.Properties!.Runtime).startsWith('nodejs'));
    expect(node.map(([id]) => id).sort()).toEqual(handlerFunctionIds(s.json.Resources).sort());
    for (const [id, fn] of node) {
      expect({ id, tracing: fn.Properties!.TracingConfig }).toEqual({ id, tracing: { Mode: 'Active' } });
      const role = fn.Properties!.Role['Fn::GetAtt'][0] as string;
      const [[, policy]] = ofType(s, 'AWS::IAM::Policy').filter(([, p]) => (p.Properties!.Roles as Array<{ Ref: string }>).some((r) => r.Ref === role));
      expect(policy.Properties!.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' }),
      );
    }
  });

  it('names each function’s service for Powertools (logs, metrics, traces), its metrics namespace and a log level', () => {
    for (const [principal] of principalRoles(s)) {
      const env = environmentOf(functionOf(s, principal)[1]);
      expect({ principal, env }).toEqual({
        principal,
        env: expect.objectContaining({
          POWERTOOLS_SERVICE_NAME: serviceNameOf(principal),
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          POWERTOOLS_LOG_LEVEL: 'INFO',
        }),
      });
      expect(Object.keys(env).filter((k) => k.startsWith('AGENTSEC_LOG'))).toEqual([]);
    }
  });
});
