import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Actor } from './actor';

/**
 * Key policies where identity policy and key policy must both allow a use (DESIGN §3). The account is trusted
 * for administration only; every cryptographic use is delegated to the account for one named role, so a
 * grant missing from either layer is no grant, and an IAM administrator with `kms:*` still cannot decrypt,
 * sign or create data keys.
 */

type Conditions = Record<string, Record<string, unknown>>;

/** Managing a key, without any cryptographic use and without `kms:CreateGrant` (a grant would bypass both layers). */
export const KEY_ADMINISTRATION_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListKeyRotations',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RetireGrant',
  'kms:RevokeGrant',
  'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

/**
 * Who may administer AgentSec's keys. By default the account (any IAM principal its identity policies allow);
 * with a break-glass role, that role and the CloudFormation execution role only, so no other account
 * administrator can rewrite a key policy (and with it any Deny in it).
 */
export interface KeyAdministrators {
  /** The break-glass role that administers every key instead of the account root. */
  readonly breakGlassRoleArn: string;
  /** The role CloudFormation deploys the stack as: stack updates rewrite key policies, and KMS refuses a key policy its writer could not write again. */
  readonly deploymentRoleArn: string;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/;

/** Checks a break-glass role ARN given on the command line or in the stack's props; a sentence when it is not one. */
export function checkBreakGlassRoleArn(arn: string): string {
  if (!ROLE_ARN.test(arn)) {
    throw new Error(`keyAdministratorRoleArn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got "${arn}"`);
  }
  return arn;
}

/** A key policy that lets the key's administrators administer it and nothing else. */
export function administrationOnlyKeyPolicy(administrators?: KeyAdministrators): iam.PolicyDocument {
  const principals = administrators
    ? [new iam.ArnPrincipal(administrators.breakGlassRoleArn), new iam.ArnPrincipal(administrators.deploymentRoleArn)]
    : [new iam.AccountRootPrincipal()];
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'KeyAdministrationWithoutCryptographicUse',
        principals,
        actions: KEY_ADMINISTRATION_ACTIONS,
        resources: ['*'],
      }),
    ],
  });
}

/** Uses of a key by one actor: the statement id in the key policy, the actions and their conditions. */
export interface KeyUse {
  readonly sid: string;
  readonly actions: readonly string[];
  readonly conditions?: Conditions;
}

/**
 * Allows `actor` to use `key` as `use` says, in the actor's identity policy and in the key policy (the
 * latter for the actor's role only, through `aws:PrincipalArn`), with the same conditions in both.
 */
export function grantKeyUse(key: kms.Key, actor: Actor, use: KeyUse): void {
  const conditions = use.conditions ?? {};
  actor.role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: [...use.actions], resources: [key.keyArn], conditions }),
  );
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: use.sid,
      principals: [new iam.AccountRootPrincipal()],
      actions: [...use.actions],
      resources: ['*'],
      conditions: { ...conditions, ArnEquals: { 'aws:PrincipalArn': actor.role.roleArn } },
    }),
  );
}

/**
 * Denies `actor` the use of `key` under `use.conditions`, in the actor's identity policy and in the key policy: an
 * explicit deny in either layer wins over every allow (DESIGN §3: compartments enforced by KMS).
 */
export function denyKeyUse(key: kms.Key, actor: Actor, use: KeyUse): void {
  const conditions = use.conditions ?? {};
  actor.role.addToPrincipalPolicy(
    new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: [...use.actions], resources: [key.keyArn], conditions }),
  );
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: use.sid,
      effect: iam.Effect.DENY,
      principals: [new iam.AccountRootPrincipal()],
      actions: [...use.actions],
      resources: ['*'],
      conditions: { ...conditions, ArnEquals: { 'aws:PrincipalArn': actor.role.roleArn } },
    }),
  );
}

/** A statement id from an actor's name (`edge-1` → `EdgeDash1`): alphanumeric, one per name. */
export function sidOf(prefix: string, actorName: string): string {
  const parts = actorName.split(/([-_])/).map((p) => (p === '-' ? 'Dash' : p === '_' ? 'Under' : p.charAt(0).toUpperCase() + p.slice(1)));
  return `${prefix}${parts.join('')}`;
}

/** `dynamodb.<region>.amazonaws.com`: the only service through which the storage key may be used. */
export function viaDynamoDb(scope: Stack): string {
  return `dynamodb.${scope.region}.amazonaws.com`;
}
