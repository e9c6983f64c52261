import { ArnFormat, Duration, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ModelEndpointConfig } from '../functions/kernel/topology/topology';
import { Agent } from './agent';
import { KeyAdministrators, administrationOnlyKeyPolicy, grantKeyUse, sidOf } from './key-policy';
import { TAG } from './tags';

export interface ModelSecretsProps {
  /** The topology's model endpoints: one secret for each `apiKeySecret` they name. */
  readonly endpoints: Iterable<ModelEndpointConfig>;
  /** Who administers the key the secrets are encrypted under. @default the account (see {@link KeyAdministrators}) */
  readonly administrators?: KeyAdministrators;
  /** What happens to the secrets and their key when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The encryption context value Secrets Manager uses when it checks a caller may use a secret's key (no secret value). */
const KEY_ACCESS_VALIDATION = 'RequestToValidateKeyAccess';

/**
 * The API keys of the model endpoints that name a secret (`apiKeySecret`): one Secrets Manager secret each, created
 * with no value (an operator sets it with `put-secret-value`; the template never holds one), encrypted under a
 * customer managed key that is usable only through Secrets Manager. The account may set a value (GenerateDataKey);
 * only the agents whose model is the endpoint may read it ({@link grantRead}: GetSecretValue on that secret and
 * Decrypt for that secret alone, in the identity policy and the key policy), so an account administrator can replace
 * a key but not read one.
 */
export class ModelSecrets extends Construct {
  /** Encrypts every model secret; absent when no endpoint names a secret. */
  readonly key?: kms.Key;
  /** The secret of each secret name the endpoints give. */
  private readonly secrets = new Map<string, secretsmanager.CfnSecret>();
  /** The secret name of each endpoint that gives one. */
  private readonly secretNames = new Map<string, string>();

  constructor(scope: Construct, id: string, props: ModelSecretsProps) {
    super(scope, id);
    for (const endpoint of props.endpoints) {
      if (endpoint.apiKeySecret !== undefined) this.secretNames.set(endpoint.name, endpoint.apiKeySecret);
    }
    const names = [...new Set(this.secretNames.values())];
    if (names.length === 0) return;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const key = new kms.Key(this, 'Key', {
      description: 'AgentSec model API keys (usable only through Secrets Manager)',
      alias: 'alias/agentsec/model-secrets',
      enableKeyRotation: true,
      policy: administrationOnlyKeyPolicy(props.administrators),
      pendingWindow: Duration.days(30),
      removalPolicy,
    });
    Tags.of(key).add(TAG.purpose, 'model-secrets');
    this.key = key;
    const stack = Stack.of(this);
    const throughSecretsManager = { 'kms:ViaService': viaSecretsManager(stack), 'kms:CallerAccount': stack.account };
    const ofTheseSecrets = { 'kms:EncryptionContext:SecretARN': names.map((n) => this.secretArnPattern(n)) };
    // Setting a value: any principal of the account its identity policy allows (an operator), for these secrets only.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SetModelKeysThroughSecretsManager',
        principals: [new iam.AccountRootPrincipal()],
        actions: ['kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: throughSecretsManager, StringLike: ofTheseSecrets },
      }),
    );
    // Creating a secret under this key: Secrets Manager checks the caller's Decrypt on a throwaway context that opens no value.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ValidateKeyAccessThroughSecretsManager',
        principals: [new iam.AccountRootPrincipal()],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: { ...throughSecretsManager, 'kms:EncryptionContext:SecretVersionId': KEY_ACCESS_VALIDATION },
          StringLike: ofTheseSecrets,
        },
      }),
    );
    for (const name of names) {
      // The L1 resource: the L2 Secret generates a value by default and lets the whole account decrypt through Secrets Manager.
      const secret = new secretsmanager.CfnSecret(this, `Secret-${name.replace(/[^A-Za-z0-9]/g, '-')}`, {
        name,
        description: `AgentSec model API key (${[...this.secretNames].filter(([, n]) => n === name).map(([e]) => e).join(', ')}): set with put-secret-value`,
        kmsKeyId: key.keyArn,
      });
      secret.applyRemovalPolicy(removalPolicy);
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: "A model provider issues its API keys itself: no rotation function can mint one. An operator replaces the value with put-secret-value.",
      });
      this.secrets.set(name, secret);
    }
  }

  /** The ARN of the secret holding `endpoint`'s API key, if the endpoint names one. */
  secretArnOf(endpoint: string): string | undefined {
    const name = this.secretNames.get(endpoint);
    return name === undefined ? undefined : this.secrets.get(name)!.ref;
  }

  /** `{endpoint: secret ARN}` for `AGENTSEC_MODEL_SECRETS`: the agent's own endpoint only; empty when it names no secret. */
  environmentOf(agent: Agent): Record<string, string> {
    const arn = this.secretArnOf(agent.config.model);
    return arn === undefined ? {} : { [agent.config.model]: arn };
  }

  /**
   * Lets `agent` read the API key of its own model endpoint, if that endpoint names a secret: GetSecretValue on that
   * secret's ARN and Decrypt through Secrets Manager for that secret only. No other principal is granted a read.
   */
  grantRead(agent: Agent): void {
    const name = this.secretNames.get(agent.config.model);
    if (name === undefined) return;
    agent.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.secrets.get(name)!.ref] }),
    );
    const stack = Stack.of(this);
    grantKeyUse(this.key!, agent, {
      sid: sidOf('ReadModelKey', agent.actorName),
      actions: ['kms:Decrypt'],
      conditions: {
        StringEquals: { 'kms:ViaService': viaSecretsManager(stack) },
        // The key policy cannot name the secret (the secret names the key): its ARN with Secrets Manager's 6-character suffix.
        StringLike: { 'kms:EncryptionContext:SecretARN': this.secretArnPattern(name) },
      },
    });
  }

  /** `arn:…:secret:<name>-??????`: the one secret of that name (Secrets Manager appends a dash and six characters). */
  private secretArnPattern(name: string): string {
    return Stack.of(this).formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${name}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  }
}

/** `secretsmanager.<region>.amazonaws.com`: the only service through which the model secrets key may be used. */
function viaSecretsManager(stack: Stack): string {
  return `secretsmanager.${stack.region}.amazonaws.com`;
}
