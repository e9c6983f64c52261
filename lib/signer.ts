import { Duration, Tags } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { Actor } from './actor';
import { SIGNER } from './access-rules';
import { HandlerFunction } from './handler-function';
import { TAG } from './tags';

/**
 * The signer (DESIGN §5): deterministic code with no model, the only holder of `kms:Sign` on the authority key.
 * Its role is tagged `agentsec:purpose` = `signer`; it decrypts nothing, and seals only the directive messages it
 * delivers after approvals. Actors reach it only through {@link grantInvoke}.
 */
export class Signer extends Construct implements Actor {
  readonly actorName = SIGNER;
  readonly handler: HandlerFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.handler = new HandlerFunction(this, 'Handler', {
      actorName: SIGNER,
      handler: 'signer',
      memoryMiB: 256,
      timeout: Duration.seconds(30),
    });
    this.role = this.handler.role;
    Tags.of(this.role).add(TAG.purpose, 'signer');
    // Signed ledger checkpoints (DESIGN §7): every minute the signer checkpoints the chain if enough entries are new.
    new events.Rule(this, 'CheckpointSchedule', {
      description: 'AgentSec: sign a ledger checkpoint when runtime.checkpointEvery entries are new',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.handler.fn, { event: events.RuleTargetInput.fromObject({ checkpoint: true }), retryAttempts: 2 })],
    });
  }

  /** The function name callers put in `AGENTSEC_SIGNER_FUNCTION`. */
  get functionName(): string {
    return this.handler.fn.functionName;
  }

  /** Lets `caller` ask for directives (synchronous invoke of this function, and no version or alias of it). */
  grantInvoke(caller: Actor): void {
    caller.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.handler.fn.functionArn] }),
    );
  }
}
