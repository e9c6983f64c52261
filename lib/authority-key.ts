import { Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { Actor } from './actor';
import { KeyAdministrators, administrationOnlyKeyPolicy, grantKeyUse, sidOf } from './key-policy';
import { TAG } from './tags';

export interface AuthorityKeyProps {
  /** Who administers the key. @default the account (see {@link KeyAdministrators}) */
  readonly administrators?: KeyAdministrators;
  /** Days KMS waits before deleting the key once scheduled. @default 30 */
  readonly pendingWindowDays?: number;
  /** What happens to the key when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The authority key (DESIGN §5): one ECC_NIST_P256 SIGN_VERIFY key whose signatures make directives and
 * ledger checkpoints. Its key policy allows administration without `kms:Sign`, and denies `kms:Sign` to
 * every principal but the one role {@link grantSign} names, so no identity policy anywhere can add a signer.
 */
export class AuthorityKey extends Construct {
  readonly key: kms.Key;
  private signer?: Actor;

  constructor(scope: Construct, id: string, props: AuthorityKeyProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'AgentSec authority: signs directives and ledger checkpoints',
      alias: 'alias/agentsec/authority',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      policy: administrationOnlyKeyPolicy(props.administrators),
      pendingWindow: Duration.days(props.pendingWindowDays ?? 30),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Tags.of(this.key).add(TAG.purpose, 'authority');
  }

  /** The only signer (DESIGN §5): `kms:Sign` for `signer`'s role, in both policies; everyone else is denied. */
  grantSign(signer: Actor): void {
    if (this.signer) throw new Error(`the authority key already has a signer (${this.signer.actorName})`);
    this.signer = signer;
    grantKeyUse(this.key, signer, { sid: 'SignBySignerOnly', actions: ['kms:Sign'] });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'NoOtherSigner',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': signer.role.roleArn } },
      }),
    );
  }

  /** Lets `verifier` fetch the public key (to verify locally) and ask KMS to verify. */
  grantVerify(verifier: Actor): void {
    grantKeyUse(this.key, verifier, {
      sid: sidOf('VerifyBy', verifier.actorName),
      actions: ['kms:GetPublicKey', 'kms:Verify'],
    });
  }
}
