import { CloudFormationTemplate } from './template';

/**
 * Resolves the intrinsic functions of a synthesized template into concrete ARNs, names and URLs, so the
 * policies can be evaluated: each resource gets an ARN built from its logical id in a fixed test account.
 */
export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';

const PSEUDO: Record<string, string> = {
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'AgentSec',
};

export class TemplateArns {
  constructor(private readonly template: CloudFormationTemplate) {}

  /** The ARN of a resource, as `Fn::GetAtt [id, Arn]` would give it. */
  arn(logicalId: string): string {
    const type = this.typeOf(logicalId);
    switch (type) {
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${logicalId}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${ACCOUNT}:role/${logicalId}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${REGION}:${ACCOUNT}:${logicalId}`;
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${logicalId}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalId}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${logicalId}:*`;
      case 'AWS::Cognito::UserPool':
        return `arn:aws:cognito-idp:${REGION}:${ACCOUNT}:userpool/${logicalId}`;
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${logicalId}`;
      case 'AWS::SecretsManager::Secret':
        // Secrets Manager appends a dash and six random characters to the secret's name.
        return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${this.template.Resources[logicalId].Properties?.Name ?? logicalId}-AbC123`;
      default:
        throw new Error(`no ARN rule for ${logicalId} (${type})`);
    }
  }

  /** A table's stream (one label stands for the time CloudFormation names it by). */
  streamArn(logicalId: string): string {
    return `${this.arn(logicalId)}/stream/2026-01-01T00:00:00.000`;
  }

  /** What `Ref` gives for a resource. */
  ref(logicalId: string): string {
    if (PSEUDO[logicalId]) return PSEUDO[logicalId];
    const type = this.typeOf(logicalId);
    switch (type) {
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${logicalId}`;
      case 'AWS::KMS::Key':
        return logicalId;
      case 'AWS::SecretsManager::Secret':
        return this.arn(logicalId);
      default:
        return logicalId;
    }
  }

  /** Replaces every intrinsic in `value` by its concrete value. */
  resolve(value: unknown): any {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const [k] = keys;
      const arg = obj[k];
      if (k === 'Ref') return this.ref(arg as string);
      if (k === 'Fn::GetAtt') {
        const [id, attr] = arg as [string, string];
        if (attr === 'Arn') return this.arn(id);
        if (attr === 'QueueUrl') return this.ref(id);
        if (attr === 'QueueName') return id;
        if (attr === 'StreamArn') return this.streamArn(id);
        if (attr === 'DomainName' && this.typeOf(id) === 'AWS::CloudFront::Distribution') return `${id}.cloudfront.net`;
        throw new Error(`no rule for Fn::GetAtt ${id}.${attr}`);
      }
      if (k === 'Fn::Sub' && typeof arg === 'string') {
        return arg.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
          const [id, attr] = name.split('.');
          return attr ? this.resolve({ 'Fn::GetAtt': [id, attr] }) : this.ref(id);
        });
      }
      if (k === 'Fn::Join') {
        const [sep, parts] = arg as [string, unknown[]];
        return (this.resolve(parts) as unknown[]).map(String).join(sep);
      }
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(obj[k])]));
  }

  private typeOf(logicalId: string): string {
    const r = this.template.Resources[logicalId];
    if (!r) throw new Error(`no resource ${logicalId} in the template`);
    return r.Type;
  }
}
