import { Duration, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { EFFECT_GATEWAY } from '../functions/effects/protocol';
import { Actor } from './actor';
import { HandlerFunction } from './handler-function';
import { TAG } from './tags';

/**
 * The effect gateway (DESIGN §5): the only writer of the outbox. It records a tool's effect only after checking
 * the directive itself, then dispatches it. Its role is tagged `agentsec:purpose` = `effects`; agents reach it only
 * through {@link grantInvoke}.
 */
export class EffectGateway extends Construct implements Actor {
  readonly actorName = EFFECT_GATEWAY;
  readonly handler: HandlerFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.handler = new HandlerFunction(this, 'Handler', {
      actorName: EFFECT_GATEWAY,
      handler: 'effects',
      memoryMiB: 256,
      timeout: Duration.seconds(30),
    });
    this.role = this.handler.role;
    Tags.of(this.role).add(TAG.purpose, 'effects');
  }

  /** The function name agents put in `AGENTSEC_EFFECTS_FUNCTION`. */
  get functionName(): string {
    return this.handler.fn.functionName;
  }

  /** Lets `caller` ask for an effect to be recorded (synchronous invoke of this function only). */
  grantInvoke(caller: Actor): void {
    caller.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.handler.fn.functionArn] }));
  }
}
