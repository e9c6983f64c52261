import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { API_ROUTES } from '../../functions/api/routes';
import { ConsoleSite } from '../../lib/console-site';
import { Synthesized, logicalIdOf, synthesize } from './support/synth';

type Resource = Synthesized['json']['Resources'][string];

/** A template value as text: `Ref` and `Fn::GetAtt` become `<name>`, `Fn::Join` is joined, `Fn::Sub` kept as written. */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]]; 'Fn::Sub'?: string };
  if (v.Ref) return `<${v.Ref}>`;
  if (typeof v['Fn::Sub'] === 'string') return v['Fn::Sub'];
  if (v['Fn::GetAtt']) return `<${v['Fn::GetAtt'].join('.')}>`;
  if (v['Fn::Join']) return v['Fn::Join'][1].map(render).join(v['Fn::Join'][0]);
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** The logical ids a template value refers to (`Ref`, `Fn::GetAtt`, `${...}` of `Fn::Sub`). */
function referencesOf(value: unknown): Set<string> {
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'Ref' && typeof x === 'string') found.add(x);
      else if (k === 'Fn::GetAtt') found.add((x as string[])[0]);
      else if (k === 'Fn::Sub' && typeof x === 'string') for (const [, name] of x.matchAll(/\$\{([^}.]+)/g)) found.add(name);
      else walk(x);
    }
  };
  walk(value);
  return found;
}

/**
 * The operator console on AWS: a private bucket only its CloudFront distribution reads, served under a strict CSP,
 * the one origin the API accepts cross-origin calls from and the WebAuthn origin passkeys are bound to.
 */
describe('the operator console', () => {
  let s: Synthesized;
  let bucket: string;
  let distribution: string;
  let origin: string;
  beforeAll(() => {
    s = synthesize();
    bucket = logicalIdOf(s.stack, s.stack.console.bucket);
    distribution = logicalIdOf(s.stack, s.stack.console.distribution);
    origin = render(s.stack.resolve(s.stack.console.origin));
  });

  const resource = (id: string): Resource => s.json.Resources[id];
  const ofType = (type: string) => Object.entries(s.json.Resources).filter(([, r]) => r.Type === type);
  const distributionConfig = () => resource(distribution).Properties!.DistributionConfig;
  const bucketPolicy = () => {
    const policies = ofType('AWS::S3::BucketPolicy').filter(([, r]) => r.Properties!.Bucket.Ref === bucket);
    expect(policies).toHaveLength(1);
    return policies[0][1].Properties!.PolicyDocument.Statement as Array<Record<string, any>>;
  };

  it('has the origin https://<distribution domain>', () => {
    expect(origin).toBe(`https://<${distribution}.DomainName>`);
  });

  it('keeps the bucket private: all public access blocked, no website hosting, no ACLs, encrypted', () => {
    expect(resource(bucket).Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    });
    expect(resource(bucket).Properties!.WebsiteConfiguration).toBeUndefined();
    expect(resource(bucket).Properties!.AccessControl).toBeUndefined();
  });

  it('lets only this distribution read the bucket (origin access control), and only over TLS', () => {
    const statements = bucketPolicy();
    const allows = statements.filter((st) => st.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    const [read] = allows;
    expect(read.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(read.Action).toBe('s3:GetObject');
    expect(render(read.Resource)).toBe(`<${bucket}.Arn>/*`);
    expect(Object.keys(read.Condition)).toEqual(['StringEquals']);
    expect(Object.keys(read.Condition.StringEquals)).toEqual(['AWS:SourceArn']);
    expect(render(read.Condition.StringEquals['AWS:SourceArn'])).toBe(`arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution/<${distribution}>`);
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('serves the bucket as the distribution’s only origin, through origin access control that signs every request', () => {
    const { Origins } = distributionConfig();
    expect(Origins).toHaveLength(1);
    expect(Origins[0].DomainName).toEqual({ 'Fn::GetAtt': [bucket, 'RegionalDomainName'] });
    expect(Origins[0].S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    const [oac] = referencesOf(Origins[0].OriginAccessControlId);
    expect(resource(oac).Properties!.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
  });

  it('serves index.html at the root, over HTTPS only (HTTP is redirected), and reads nothing but GET and HEAD', () => {
    expect(distributionConfig()).toMatchObject({
      DefaultRootObject: 'index.html',
      DefaultCacheBehavior: { ViewerProtocolPolicy: 'redirect-to-https', AllowedMethods: ['GET', 'HEAD'] },
    });
    expect(distributionConfig().CacheBehaviors).toBeUndefined();
  });

  describe('the response headers', () => {
    let config: Record<string, any>;
    let csp: Map<string, string[]>;
    beforeAll(() => {
      const [policy] = referencesOf(distributionConfig().DefaultCacheBehavior.ResponseHeadersPolicyId);
      config = resource(policy).Properties!.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
      csp = new Map(
        render(config.ContentSecurityPolicy.ContentSecurityPolicy)
          .split(';')
          .map((d) => d.trim().split(/\s+/))
          .map(([name, ...sources]) => [name, sources]),
      );
    });

    it('carry a Content-Security-Policy that loads only the console’s own files and allows no inline or eval’d code', () => {
      expect(config.ContentSecurityPolicy.Override).toBe(true);
      expect(csp.get('default-src')).toEqual(["'self'"]);
      expect(csp.get('script-src')).toEqual(["'self'"]);
      expect(csp.get('style-src')).toEqual(["'self'"]);
      expect(csp.get('object-src')).toEqual(["'none'"]);
      expect(csp.get('base-uri')).toEqual(["'none'"]);
      expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
      expect(render(config.ContentSecurityPolicy.ContentSecurityPolicy)).not.toMatch(/unsafe-|\*(?!\.execute-api\.)|http:/);
    });

    it('let the console call only its origin, API Gateway and Cognito of the stack’s region', () => {
      expect(csp.get('connect-src')).toEqual([
        "'self'",
        'https://*.execute-api.<AWS::Region>.<AWS::URLSuffix>',
        'https://cognito-idp.<AWS::Region>.<AWS::URLSuffix>',
      ]);
    });

    it('carry HSTS for two years, nosniff, no referrer and no framing', () => {
      expect(config).toMatchObject({
        StrictTransportSecurity: { AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true, Override: true },
        ContentTypeOptions: { Override: true },
        ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
        FrameOptions: { FrameOption: 'DENY', Override: true },
      });
    });

    it('name nothing of the API: the API’s CORS names the distribution, and CloudFormation allows no cycle', () => {
      const api = logicalIdOf(s.stack, s.stack.api.httpApi);
      const [policy] = referencesOf(distributionConfig().DefaultCacheBehavior.ResponseHeadersPolicyId);
      for (const id of [distribution, policy]) expect(referencesOf(resource(id))).not.toContain(api);
    });
  });

  it('lets browsers call the API cross-origin from the console’s origin alone, without credentials', () => {
    const cors = resource(logicalIdOf(s.stack, s.stack.api.httpApi)).Properties!.CorsConfiguration;
    expect(cors.AllowOrigins.map(render)).toEqual([origin]);
    expect(cors.AllowCredentials).toBe(false);
    expect([...cors.AllowHeaders].sort()).toEqual(['authorization', 'content-type', 'idempotency-key']);
    expect([...cors.AllowMethods].sort()).toEqual([...new Set([...API_ROUTES.map((r) => r.method), 'OPTIONS'])].sort());
  });

  it('gives the API and the signer the console origin as AGENTSEC_CONSOLE_ORIGIN (WebAuthn), and no other function', () => {
    const withOrigin = ofType('AWS::Lambda::Function')
      .filter(([, fn]) => fn.Properties!.Environment?.Variables?.AGENTSEC_CONSOLE_ORIGIN !== undefined)
      .map(([id, fn]) => [id, render(fn.Properties!.Environment.Variables.AGENTSEC_CONSOLE_ORIGIN)]);
    expect(withOrigin.sort()).toEqual(
      [
        [logicalIdOf(s.stack, s.stack.api.handler.fn), origin],
        [logicalIdOf(s.stack, s.stack.signer.handler.fn), origin],
      ].sort(),
    );
  });

  it('publishes config.json with the API URL, the region and the app client, then invalidates the distribution', () => {
    const [[, deployment]] = ofType('Custom::CDKBucketDeployment');
    const markers = deployment.Properties!.SourceMarkers as Array<Record<string, unknown>>;
    expect(Object.values(markers[1]).map(render)).toEqual([
      `<${logicalIdOf(s.stack, s.stack.api.httpApi)}.ApiEndpoint>`,
      '<AWS::Region>',
      `<${logicalIdOf(s.stack, s.stack.api.userPoolClient)}>`,
    ]);
    expect(deployment.Properties).toMatchObject({
      DestinationBucketName: { Ref: bucket },
      DistributionId: { Ref: distribution },
      DistributionPaths: ['/*'],
      Prune: true,
      SystemMetadata: { 'cache-control': 'no-cache' },
    });
  });

  it('gives the publisher exactly its duty: read its two sources, list and write the console bucket, invalidate this distribution', () => {
    const [provider] = ofType('AWS::Lambda::Function').filter(([id]) => referencesOf(ofType('Custom::CDKBucketDeployment')).has(id));
    const role = provider[1].Properties!.Role['Fn::GetAtt'][0];
    expect(resource(role).Properties!.ManagedPolicyArns).toBeUndefined();
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties!.Roles.some((r: { Ref: string }) => r.Ref === role))
      .flatMap(([, p]) => p.Properties!.PolicyDocument.Statement as Array<Record<string, any>>)
      .map((st) => ({ actions: [st.Action].flat(), resources: [st.Resource].flat().map(render) }));
    expect(statements.every((st) => st.actions.every((a: string) => !a.includes('*')))).toBe(true);
    const asset = (key: string) => `arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-\${AWS::AccountId}-\${AWS::Region}/${key}`;
    const [[, deployment]] = ofType('Custom::CDKBucketDeployment');
    expect(statements).toEqual(
      expect.arrayContaining([
        { actions: ['s3:GetObject'], resources: (deployment.Properties!.SourceObjectKeys as string[]).map(asset) },
        { actions: ['s3:ListBucket'], resources: [`<${bucket}.Arn>`] },
        { actions: ['s3:PutObject', 's3:DeleteObject'], resources: [`<${bucket}.Arn>/*`] },
        { actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'], resources: [`arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution/<${distribution}>`] },
      ]),
    );
    expect(statements.map((st) => st.actions.join(',')).sort()).toEqual(
      ['cloudfront:CreateInvalidation,cloudfront:GetInvalidation', 'logs:CreateLogStream,logs:PutLogEvents', 's3:GetObject', 's3:ListBucket', 's3:PutObject,s3:DeleteObject'].sort(),
    );
  });

  it('logs the bucket’s and the distribution’s requests to a private, TLS-only log bucket', () => {
    const logs = logicalIdOf(s.stack, s.stack.console.accessLogs);
    expect(resource(bucket).Properties!.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logs }, LogFilePrefix: 'bucket/' });
    expect(distributionConfig().Logging).toEqual({ Bucket: { 'Fn::GetAtt': [logs, 'RegionalDomainName'] }, Prefix: 'distribution/' });
    expect(resource(logs).Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    expect(resource(logs).Properties!.AccessControl).toBeUndefined();
  });

  it('outputs ConsoleUrl, the origin with a trailing slash', () => {
    expect(render(s.json.Outputs!.ConsoleUrl.Value)).toBe(`${origin}/`);
  });

  it('keeps its buckets when the stack is deleted, as the rest of the stack does; DESTROY also empties them', () => {
    for (const id of [bucket, logicalIdOf(s.stack, s.stack.console.accessLogs)]) expect(resource(id).DeletionPolicy).toBe('Retain');
    expect(ofType('Custom::S3AutoDeleteObjects')).toEqual([]);
    const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Destroyable');
    new ConsoleSite(stack, 'Console', { removalPolicy: RemovalPolicy.DESTROY });
    const destroyable = Template.fromStack(stack);
    destroyable.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
    for (const r of Object.values(destroyable.findResources('AWS::S3::Bucket'))) expect(r.DeletionPolicy).toBe('Delete');
  });

  it('puts a given WAF web ACL in front of the console, and then acknowledges no missing one', () => {
    const webAclArn = 'arn:aws:wafv2:us-east-1:111122223333:global/webacl/console/0123';
    const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Guarded');
    const site = new ConsoleSite(stack, 'Console', { webAclArn });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudFront::Distribution', { DistributionConfig: { WebACLId: webAclArn } });
    const acknowledged = site.distribution.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.keys(m.data as object).map((id) => id.replace(/^annotation::/i, '')));
    expect(acknowledged.sort()).toEqual(['AwsSolutions-CFR1', 'AwsSolutions-CFR4']);
  });
});
