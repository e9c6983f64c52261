import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE_DIMENSION, serviceNameOf } from '../functions/platform/metrics';
import { KeyAdministrators, administrationOnlyKeyPolicy } from './key-policy';

/** An agent as the alarms see it: its name, and the queues where its messages end when they fail. */
export interface WatchedAgent {
  readonly actorName: string;
  /** Messages refused for a security reason, and messages whose deliveries are exhausted, once accounted for. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Messages whose deliveries are exhausted, waiting for the agent's function to ledger and report them. */
  readonly failedQueue: sqs.IQueue;
}

/** A function as the alarms see it: the name it acts under, and its Lambda function. */
export interface WatchedFunction {
  readonly actorName: string;
  readonly handler: { readonly fn: lambda.IFunction };
}

export interface OperationsProps {
  /** The agents whose dead-letter and failed queues are watched. */
  readonly agents: readonly WatchedAgent[];
  /** The signer: its errors are watched (an agent waiting for a directive waits on it). */
  readonly signer: WatchedFunction;
  /** The sequencer: its errors, how far it lags its stream, and what it seals (refusals, tampering). */
  readonly sequencer: WatchedFunction;
  /**
   * An address told of every alarm and its recovery, through an SNS topic encrypted with a key of its own. The address
   * must confirm the subscription before mail arrives. @default none: no topic, the alarms show in CloudWatch only
   */
  readonly alarmEmail?: string;
  /** Who administers the alarm topic's key. @default the account */
  readonly administrators?: KeyAdministrators;
  /** Sealed refusals in five minutes above which the refusal alarm fires (refusals are the kernel working; a surge is an attack). @default 10 */
  readonly refusalThreshold?: number;
  /** How far behind the ledger's stream the sequencer may fall (how long an entry waits to be sealed). @default Duration.minutes(1) */
  readonly maxSequencerLag?: Duration;
}

/** The period every alarm evaluates. */
const PERIOD = Duration.minutes(5);

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Checks an alarm address given on the command line or in the stack's props; a sentence when it is not one. */
export function checkAlarmEmail(email: string): string {
  if (!EMAIL.test(email)) throw new Error(`alarmEmail must be an email address, got "${email}"`);
  return email;
}

/**
 * Operations (issue 15): CloudWatch alarms on what must not go unnoticed — a message dead-lettered or left unaccounted,
 * the signer or the sequencer failing, the sequencer falling behind its stream, the ledger tampered with or refusing
 * entries, and a surge of refusals — and, when an address is given, an encrypted SNS topic that tells it of each.
 * The ledger alarms read the metrics the sequencer emits for what it seals (functions/platform/metrics.ts).
 *
 * @example
 * new Operations(stack, 'Operations', { agents, signer, sequencer, alarmEmail: 'ops@example.com' });
 */
export class Operations extends Construct {
  /** Every alarm of the stack. */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** The topic every alarm notifies; absent without `alarmEmail`. */
  readonly topic?: sns.Topic;
  private readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.namePrefix = Stack.of(this).stackName;
    if (props.alarmEmail !== undefined) this.topic = this.alarmTopic(checkAlarmEmail(props.alarmEmail), props.administrators);

    for (const agent of props.agents) {
      this.alarm(`${agent.actorName}-dead-letters`, {
        description: `A message to ${agent.actorName} was dead-lettered: refused for a security reason, or its deliveries were exhausted (each has its ledger entry)`,
        metric: agent.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: 0,
      });
      this.alarm(`${agent.actorName}-failed-messages`, {
        description: `Messages to ${agent.actorName} whose deliveries are exhausted have waited ten minutes to be accounted for: the function that ledgers them is failing`,
        metric: agent.failedQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: 0,
        evaluationPeriods: 2,
      });
    }
    this.alarm('signer-errors', {
      description: 'The signer failed: directives, approvals and checkpoints wait on it',
      metric: props.signer.handler.fn.metricErrors({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: 0,
    });
    this.alarm('sequencer-errors', {
      description: 'The sequencer failed a batch: it is delivered again, and nothing after it is sealed until it succeeds',
      metric: props.sequencer.handler.fn.metricErrors({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: 0,
    });
    const maxLag = props.maxSequencerLag ?? Duration.minutes(1);
    this.alarm('sequencer-lag', {
      description: `Ledger entries have waited more than ${maxLag.toHumanString()} to be sealed (the sequencer's stream iterator age)`,
      metric: props.sequencer.handler.fn.metric('IteratorAge', { period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM, unit: cloudwatch.Unit.MILLISECONDS }),
      threshold: maxLag.toMilliseconds(),
    });
    const sealed = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { [SERVICE_DIMENSION]: serviceNameOf(props.sequencer.actorName) },
        period: PERIOD,
        statistic: cloudwatch.Stats.SUM,
      });
    this.alarm('ledger-tampered', {
      description: 'A pending ledger entry was changed or deleted after it was written (sealed as ledger.tampered): run agentsec audit verify',
      metric: sealed(METRIC.ledgerTampered),
      threshold: 0,
    });
    this.alarm('ledger-refused', {
      description: 'The sequencer refused a pending ledger entry (ledger.refused): malformed, or naming an actor its writer may not record as',
      metric: sealed(METRIC.ledgerRefused),
      threshold: 0,
    });
    const refusals = props.refusalThreshold ?? 10;
    this.alarm('refusals', {
      description: `More than ${refusals} refusals (*.denied, *.rejected) were sealed in five minutes: see Refusals by reason`,
      metric: sealed(METRIC.refusals),
      threshold: refusals,
    });
  }

  /** One alarm, firing when `metric` exceeds `threshold` in every evaluated period, notifying the topic when there is one. */
  private alarm(name: string, spec: { description: string; metric: cloudwatch.IMetric; threshold: number; evaluationPeriods?: number }): void {
    const alarm = new cloudwatch.Alarm(this, name, {
      alarmName: `${this.namePrefix}-${name}`,
      alarmDescription: spec.description,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: spec.evaluationPeriods ?? 1,
      // No data is no event: an idle queue, a function not invoked, a batch that sealed nothing of the kind.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (this.topic) {
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      alarm.addOkAction(new actions.SnsAction(this.topic));
    }
    this.alarms.push(alarm);
  }

  /**
   * The topic, encrypted with a key of its own, and the address subscribed to it. CloudWatch publishes for this stack's
   * alarms only: the topic policy and the key policy both name the alarms by their prefix, in this account.
   */
  private alarmTopic(email: string, administrators: KeyAdministrators | undefined): sns.Topic {
    const stack = Stack.of(this);
    const cloudwatchPrincipal = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:${this.namePrefix}-*` },
    };
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'AgentSec alarm notifications',
      enableKeyRotation: true,
      policy: administrationOnlyKeyPolicy(administrators),
      pendingWindow: Duration.days(30),
    });
    // What CloudWatch needs to publish to an encrypted topic (SNS: compatibility with AWS services).
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [cloudwatchPrincipal],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOurAlarms,
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'AgentSec alarms', masterKey: key, enforceSSL: true });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [cloudwatchPrincipal],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromOurAlarms,
      }),
    );
    topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }
}
