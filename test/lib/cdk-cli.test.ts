import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DescribeKeyCommand, GenerateDataKeyCommand, GetKeyRotationStatusCommand, SignCommand } from '@aws-sdk/client-kms';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetFunctionConfigurationCommand, LambdaClient, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { dynamo, emulatorEndpoint, kms } from '../support/aws';
import { CdkRun, baseEnvironment, runCdk } from './support/cdk-cli';
import { StackResource, listStackResources, stackStatus } from './support/emulator-cloudformation';
import { CloudFormationTemplate } from './support/synth';
import { customResourceProviders, handlerFunctionIds } from './support/template-lookup';

/**
 * The real CLI on the real app (`bin/app.ts` through cdk.json): synth offline with esbuild bundling, cdk-nag and
 * CloudFormation validation, then `cdk bootstrap` and `cdk deploy` of that cloud assembly into the emulator.
 */

/** Resource types moto 5.2.1's CloudFormation does not create (it logs "No Moto CloudFormation support" and goes on). */
export const MOTO_SKIPPED_TYPES = [
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Authorizer',
  'AWS::ApiGatewayV2::Integration',
  'AWS::ApiGatewayV2::Route',
  'AWS::ApiGatewayV2::Stage',
  'AWS::CDK::Metadata',
  'AWS::CloudFront::Distribution',
  'AWS::CloudFront::OriginAccessControl',
  'AWS::CloudFront::ResponseHeadersPolicy',
  'AWS::CloudWatch::Alarm',
  'AWS::Cognito::UserPool',
  'AWS::Cognito::UserPoolClient',
  'AWS::S3::BucketPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::SecretsManager::Secret',
];

const STACK = 'AgentSec';
const work = mkdtempSync(path.join(tmpdir(), 'agentsec-cli-'));
const assembly = path.join(work, 'cdk.out');
let synth: CdkRun;
let bootstrap: CdkRun;
let template: CloudFormationTemplate;

/** No credentials, no endpoint, and every HTTP(S) request sent to a closed port: synth must not need the network. */
function offlineEnvironment(): NodeJS.ProcessEnv {
  return { ...baseEnvironment(), HTTP_PROXY: 'http://localhost:9', HTTPS_PROXY: 'http://localhost:9', http_proxy: 'http://localhost:9', https_proxy: 'http://localhost:9' };
}

function emulatorEnvironment(): NodeJS.ProcessEnv {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  return { ...baseEnvironment(), AWS_ENDPOINT_URL: emulatorEndpoint(), AWS_REGION: region, AWS_DEFAULT_REGION: region, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
}

beforeAll(async () => {
  // Bootstrapping the emulator does not need the app, so it runs while the app synthesizes.
  [synth, bootstrap] = await Promise.all([
    runCdk(['synth', '--quiet', '-o', assembly], offlineEnvironment(), 150_000),
    // Its own output directory: the CLI locks the one it uses, and others may run cdk in this checkout.
    runCdk(['bootstrap', `aws://unknown-account/${process.env.AWS_REGION ?? 'us-east-1'}`, '-o', path.join(work, 'bootstrap.out')], emulatorEnvironment(), 150_000),
  ]);
  if (synth.code === 0) template = JSON.parse(readFileSync(path.join(assembly, `${STACK}.template.json`), 'utf8'));
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npx cdk synth', () => {
  it('works offline: no credentials, no network, no Docker', () => {
    expect({ code: synth.code, tail: synth.code === 0 ? '' : synth.output.slice(-3000) }).toEqual({ code: 0, tail: '' });
    expect(synth.output).not.toMatch(/docker/i);
  });

  it('yields one stack named AgentSec', () => {
    const manifest = JSON.parse(readFileSync(path.join(assembly, 'manifest.json'), 'utf8'));
    const stacks = Object.entries(manifest.artifacts as Record<string, { type: string; properties?: { stackName?: string } }>)
      .filter(([, a]) => a.type === 'aws:cloudformation:stack')
      .map(([id, a]) => a.properties?.stackName ?? id);
    expect(stacks).toEqual([STACK]);
  });

  it('bundles every function with esbuild: one minified index.js with its source map', () => {
    const functions = handlerFunctionIds(template.Resources);
    expect(functions).toHaveLength(9);
    for (const id of functions) {
      const dir = path.join(assembly, `asset.${String(template.Resources[id].Properties!.Code.S3Key).replace(/\.zip$/, '')}`);
      expect(readdirSync(dir).sort()).toEqual(['index.js', 'index.js.map']);
      const js = readFileSync(path.join(dir, 'index.js'), 'utf8');
      expect(js).toMatch(/\/\/# sourceMappingURL=index\.js\.map\s*$/);
      // Minified: no per-module path comments (esbuild writes them unminified) and long lines.
      expect(js).not.toMatch(/^\/\/ (functions|node_modules)\//m);
      expect(js.length / js.split('\n').length).toBeGreaterThan(200);
    }
  });
});

describe('cdk bootstrap and cdk deploy into the emulator', () => {
  let deploy: CdkRun;
  let resources: StackResource[];
  let isMoto: boolean;
  const outputsFile = path.join(work, 'outputs.json');
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const physicalId = (logicalId: string) => resources.find((r) => r.logicalId === logicalId)!.physicalId;
  const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type).map(([id]) => id);

  beforeAll(async () => {
    expect(synth.code).toBe(0);
    isMoto = (await fetch(`${emulatorEndpoint()}/moto-api/`)).ok;
    const deployable = path.join(work, 'deployable');
    cpSync(assembly, deployable, { recursive: true });
    if (isMoto) {
      // moto's CloudFormation hands AWS::KMS::Key Tags to its KMS tagger unconverted and fails (KeyError 'TagKey').
      const file = path.join(deployable, `${STACK}.template.json`);
      const t = JSON.parse(readFileSync(file, 'utf8')) as CloudFormationTemplate;
      for (const r of Object.values(t.Resources)) if (r.Type === 'AWS::KMS::Key') delete r.Properties!.Tags;
      withoutConsoleUpload(t);
      withSecretArnsStoodIn(t);
      writeFileSync(file, JSON.stringify(t));
    }
    deploy = await runCdk(
      ['deploy', STACK, '--app', deployable, '--require-approval', 'never', '--outputs-file', outputsFile],
      emulatorEnvironment(),
      150_000,
    );
    resources = deploy.code === 0 ? await listStackResources(emulatorEndpoint(), region, STACK) : [];
  }, 180_000);

  it('bootstraps and deploys with the plain aws-cdk CLI and AWS_ENDPOINT_URL', async () => {
    expect({ code: bootstrap.code, tail: bootstrap.code === 0 ? '' : bootstrap.output.slice(-3000) }).toEqual({ code: 0, tail: '' });
    expect({ code: deploy.code, tail: deploy.code === 0 ? '' : deploy.output.slice(-3000) }).toEqual({ code: 0, tail: '' });
    expect(await stackStatus(emulatorEndpoint(), region, STACK)).toMatch(/^(CREATE|UPDATE)_COMPLETE$/);
    // Written by the CLI; moto's change-set execution (what `cdk deploy` uses) never computes stack outputs.
    expect(existsSync(outputsFile)).toBe(true);
    const outputs = JSON.parse(readFileSync(outputsFile, 'utf8'));
    if (!isMoto) expect(Object.keys(outputs[STACK])).toEqual(expect.arrayContaining(['ApiUrl', 'KeyArns', 'QueueUrls', 'UserPoolId']));
  });

  it('creates every resource except the types the emulator skips (listed in the README)', () => {
    const created = resources.filter((r) => r.type !== '');
    const createdIds = new Set(created.map((r) => r.logicalId));
    const skipped = new Set(Object.entries(template.Resources).filter(([id]) => !createdIds.has(id)).map(([, r]) => r.Type));
    // On moto the console upload is left out of the deployed template (withoutConsoleUpload).
    expect([...skipped].sort()).toEqual(isMoto ? [...MOTO_SKIPPED_TYPES, 'Custom::CDKBucketDeployment'].sort() : []);
    for (const r of created) expect([r.logicalId, r.type, r.status]).toEqual([r.logicalId, template.Resources[r.logicalId].Type, 'CREATE_COMPLETE']);
  });

  it('creates the keys with rotation on the symmetric ones; moto makes the authority key symmetric', async () => {
    for (const id of ofType('AWS::KMS::Key')) {
      const rotation = await kms().send(new GetKeyRotationStatusCommand({ KeyId: physicalId(id) }));
      expect([id, rotation.KeyRotationEnabled]).toEqual([id, template.Resources[id].Properties!.EnableKeyRotation === true]);
    }
    const [authority] = ofType('AWS::KMS::Key').filter((id) => template.Resources[id].Properties!.KeySpec === 'ECC_NIST_P256');
    const sign = kms().send(new SignCommand({ KeyId: physicalId(authority), Message: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' }));
    if (isMoto) {
      // moto's CloudFormation creates every KMS key SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT, whatever KeySpec says.
      await expect(sign).rejects.toThrow(/SIGN_VERIFY/);
      await expect(kms().send(new GenerateDataKeyCommand({ KeyId: physicalId(authority), KeySpec: 'AES_256' }))).resolves.toBeDefined();
    } else {
      const { KeyMetadata } = await kms().send(new DescribeKeyCommand({ KeyId: physicalId(authority) }));
      expect(KeyMetadata).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    }
  });

  it('creates the queues with their redrive policies and the tables with their keys (moto ignores SSE and PITR)', async () => {
    const sqs = new SQSClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
    for (const id of ofType('AWS::SQS::Queue').filter((q) => template.Resources[q].Properties!.RedrivePolicy)) {
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: physicalId(id), AttributeNames: ['RedrivePolicy'] }));
      expect(JSON.parse(Attributes!.RedrivePolicy!).maxReceiveCount).toBe(template.Resources[id].Properties!.RedrivePolicy.maxReceiveCount);
    }
    for (const id of ofType('AWS::DynamoDB::Table')) {
      const { Table } = await dynamo().send(new DescribeTableCommand({ TableName: physicalId(id) }));
      expect(Table!.KeySchema).toEqual(template.Resources[id].Properties!.KeySchema);
      if (!isMoto) expect(Table!.SSEDescription?.SSEType).toBe('KMS');
    }
  });

  it('creates the functions on nodejs24.x with their environment (arm64 except on moto), and the SQS event sources', async () => {
    const lambda = new LambdaClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
    // Every function but the console's BucketDeployment handler, whose runtime aws-cdk-lib pins.
    expect(customResourceProviders(template.Resources).size).toBe(1);
    for (const id of handlerFunctionIds(template.Resources)) {
      const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: physicalId(id) }));
      expect(fn.Runtime).toBe('nodejs24.x');
      // moto's CloudFormation ignores Architectures and creates x86_64 functions.
      expect(fn.Architectures).toEqual([isMoto ? 'x86_64' : 'arm64']);
      expect(fn.Environment!.Variables).toEqual(expect.objectContaining({ AGENTSEC_KEY_ARNS: expect.stringContaining('TOP_SECRET') }));
    }
    const mappings = await lambda.send(new ListEventSourceMappingsCommand({}));
    const ours = mappings.EventSourceMappings!.filter((m) => ofType('AWS::Lambda::Function').some((id) => m.FunctionArn?.endsWith(`:${physicalId(id)}`)));
    expect(ours).toHaveLength(ofType('AWS::Lambda::EventSourceMapping').length);
    // The SQS sources report partial batch failures; the ledger stream's batch succeeds or is delivered again whole.
    const sqsSources = ours.filter((m) => m.EventSourceArn?.startsWith('arn:aws:sqs:'));
    expect(sqsSources).toHaveLength(ours.length - 1);
    for (const m of sqsSources) expect(m.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(ours.find((m) => m.EventSourceArn?.includes('/stream/'))).toMatchObject({ StartingPosition: 'TRIM_HORIZON' });
  });
});

/**
 * moto 5.2.1 has no CloudFront, and fails a template whose `Fn::GetAtt` names a resource it skipped: the distribution's
 * domain name stands in as a fixed string. It runs a custom resource's function only in Docker and waits for its answer
 * forever, so the console upload (the BucketDeployment custom resource) is left out.
 */
function withoutConsoleUpload(t: CloudFormationTemplate): void {
  const distributions = new Set(Object.entries(t.Resources).filter(([, r]) => r.Type.startsWith('AWS::CloudFront::')).map(([id]) => id));
  const standIn = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(standIn);
    if (value === null || typeof value !== 'object') return value;
    const getAtt = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
    if (getAtt && distributions.has(getAtt[0])) return `${getAtt[0]}.${getAtt[1]}.cloudfront.invalid`;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, standIn(v)]));
  };
  for (const [id, r] of Object.entries(t.Resources)) {
    if (r.Type === 'Custom::CDKBucketDeployment') delete t.Resources[id];
    else t.Resources[id] = standIn(r) as typeof r;
  }
  if (t.Outputs) t.Outputs = standIn(t.Outputs) as typeof t.Outputs;
}

/**
 * moto 5.2.1 has no CloudFormation support for Secrets Manager, and a `Ref` to a secret it skipped leaves a policy
 * statement without its resource (MalformedPolicyDocument): each model secret's ARN stands in as a fixed string.
 */
function withSecretArnsStoodIn(t: CloudFormationTemplate): void {
  const secrets = new Set(Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret').map(([id]) => id));
  const standIn = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(standIn);
    if (value === null || typeof value !== 'object') return value;
    const ref = (value as { Ref?: string }).Ref;
    if (ref !== undefined && secrets.has(ref)) return `arn:aws:secretsmanager:${process.env.AWS_REGION ?? 'us-east-1'}:123456789012:secret:${t.Resources[ref].Properties!.Name}-AbC123`;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, standIn(v)]));
  };
  for (const [id, r] of Object.entries(t.Resources)) if (!secrets.has(id)) t.Resources[id] = standIn(r) as typeof r;
}
