import { Duration, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { formatLabel } from '../functions/kernel/labels';
import { AgentConfig, RuntimeConfig, failedQueueRedriveCount } from '../functions/kernel/topology/topology';
import { toolBundleDefines } from '../functions/tools/registry';
import { Actor } from './actor';
import { DECLASSIFIER } from './access-rules';
import { HandlerFunction } from './handler-function';
import { TAG } from './tags';

export interface AgentProps {
  /** The agent as the topology describes it. */
  readonly agent: AgentConfig;
  /** The topology's runtime settings (redrive count, visibility timeout, retention). */
  readonly runtime: RuntimeConfig;
}

/**
 * One agent (DESIGN §9): its function (the kernel agent runs `core.ts`, every other agent `effector.ts`, each bundled
 * with the tools it owns and no other), its role tagged with its name and clearance, its queue and dead-letter queue,
 * and the SQS event source with partial batch failures. Other actors may send to its queue only through
 * {@link grantSendTo}.
 */
export class Agent extends Construct implements Actor {
  readonly config: AgentConfig;
  readonly actorName: string;
  readonly role: iam.Role;
  readonly handler: HandlerFunction;
  readonly queue: sqs.Queue;
  /** Messages whose deliveries are exhausted: the agent's function ledgers and reports each, then moves it to the DLQ. */
  readonly failedQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: AgentProps) {
    super(scope, id);
    const { agent, runtime } = props;
    this.config = agent;
    this.actorName = agent.name;
    // A message must stay invisible for as long as its handler may run, or it is delivered twice.
    if (runtime.visibilityTimeoutSeconds < agent.timeoutSeconds) {
      throw new Error(
        `agent "${agent.name}": visibilityTimeoutSeconds (${runtime.visibilityTimeoutSeconds}) is shorter than its timeoutSeconds (${agent.timeoutSeconds})`,
      );
    }
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // Accounting for a failed message runs from a queue, not from the invocation that failed: it holds when that
    // invocation crashed or timed out (every dead letter has its ledger entry, DESIGN §4).
    this.failedQueue = new sqs.Queue(this, 'Failed', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(runtime.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: failedQueueRedriveCount(runtime) },
    });
    this.queue = new sqs.Queue(this, 'Inbox', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(runtime.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(runtime.messageRetentionDays),
      deadLetterQueue: { queue: this.failedQueue, maxReceiveCount: runtime.maxReceiveCount },
    });
    this.handler = new HandlerFunction(this, 'Handler', {
      actorName: agent.name,
      handler: agent.name === DECLASSIFIER ? 'core' : 'effector',
      memoryMiB: agent.memoryMiB,
      timeout: Duration.seconds(agent.timeoutSeconds),
      // Its own tools only (DESIGN §3): the modules of every other tool are dead code, left out of its bundle.
      define: toolBundleDefines(agent.tools),
    });
    this.role = this.handler.role;
    Tags.of(this.role).add(TAG.agent, agent.name);
    Tags.of(this.role).add(TAG.clearance, formatLabel(agent.clearance));
    this.handler.fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: agent.batchSize,
        maxConcurrency: agent.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    this.handler.fn.addEventSource(new SqsEventSource(this.failedQueue, { batchSize: 1, maxConcurrency: 2, reportBatchItemFailures: true }));
    // A message refused for a security reason goes to the dead-letter queue at once, never into retries (DESIGN §4).
    this.grantSendOnly(this.deadLetterQueue, this);
  }

  /** Lets `sender` put messages on this agent's queue: one edge of the topology (DESIGN §3). */
  grantSendTo(sender: Actor): void {
    this.grantSendOnly(this.queue, sender);
  }

  private grantSendOnly(queue: sqs.Queue, sender: Actor): void {
    sender.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
  }
}
