import * as path from 'node:path';
import { AssetHashType, BundlingOptions, DockerImage, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { PROJECT_ROOT } from './handler-function';

/** What the console reads from `/config.json` beside it (console/src/config.ts); on AWS it finds Cognito by region. */
export interface ConsoleConfig {
  /** Base URL of the HTTP API. */
  readonly apiUrl: string;
  /** The region of the user pool. */
  readonly region: string;
  /** The app client the console signs in with. */
  readonly userPoolClientId: string;
}

export interface ConsoleSiteProps {
  /** What happens to the site's buckets when the stack is deleted; `DESTROY` also empties them. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** ARN of a WAF web ACL (scope CLOUDFRONT, made in us-east-1) in front of the console. @default none */
  readonly webAclArn?: string;
  /** How long the access logs of the bucket and the distribution are kept. @default Duration.days(90) */
  readonly accessLogRetention?: Duration;
}

/** The console's sources (console/build.ts builds them). */
const CONSOLE_DIR = path.join(PROJECT_ROOT, 'console');

/**
 * The operator console on AWS: a private S3 bucket only CloudFront reads (origin access control), a distribution that
 * serves it over HTTPS with a strict Content-Security-Policy, and, once {@link publish}ed, the built console and its
 * `config.json`. The console's {@link origin} is what the API allows cross-origin calls from and what passkeys are
 * bound to (the WebAuthn origin; its host the relying party id).
 */
export class ConsoleSite extends Construct {
  /** Holds the built console; no public access, read only by the distribution. */
  readonly bucket: s3.Bucket;
  /** Receives the bucket's server access logs and the distribution's standard logs. */
  readonly accessLogs: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** `https://<distribution domain>`: the console's origin (CORS, WebAuthn). */
  readonly origin: string;
  /** The console's address. */
  readonly url: string;
  private published = false;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps = {}) {
    super(scope, id);
    // S3 delivers the bucket's access logs under a bucket policy, not the deprecated LogDeliveryWrite ACL.
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const destroy = removalPolicy === RemovalPolicy.DESTROY;
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      // CloudFront's standard logs are delivered with an object ACL, so the bucket keeps ACLs and owns what they write.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: props.accessLogRetention ?? Duration.days(90) }],
      removalPolicy,
      autoDeleteObjects: destroy,
    });
    this.bucket = new s3.Bucket(this, 'Assets', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'bucket/',
      removalPolicy,
      autoDeleteObjects: destroy,
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'AgentSec operator console',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        // Origin access control: the bucket policy admits CloudFront for this distribution only (aws:SourceArn).
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.securityHeaders(),
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: this.accessLogs,
      logFilePrefix: 'distribution/',
      ...(props.webAclArn !== undefined && { webAclId: props.webAclArn }),
    });
    this.acknowledgeDistributionFindings(props.webAclArn === undefined);
    this.origin = `https://${this.distribution.distributionDomainName}`;
    this.url = `${this.origin}/`;
  }

  /**
   * Uploads the built console and its `config.json` to the bucket, then invalidates the distribution's cache. The
   * publisher's role holds exactly what the upload needs: read the two source archives, write this bucket, invalidate
   * this distribution (BucketDeployment's own grants, wildcards over the CDK asset bucket, are not applied).
   */
  publish(config: ConsoleConfig): BucketDeployment {
    if (this.published) throw new Error('the console is published once');
    this.published = true;
    const role = new iam.Role(this, 'PublisherRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'AgentSec console publisher: uploads the console and invalidates its distribution',
    });
    const logGroup = new logs.LogGroup(this, 'PublisherLogs', { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.RETAIN });
    const deployment = new BucketDeployment(this, 'Publish', {
      sources: [
        // Hashed by what the build outputs: the console's sources, the topology and the kernel modules it imports.
        Source.asset(CONSOLE_DIR, { assetHashType: AssetHashType.OUTPUT, bundling: consoleBundling() }),
        Source.jsonData('config.json', config),
      ],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      // The console's file names carry no hash, so browsers revalidate every file and a deploy shows at once.
      cacheControl: [CacheControl.noCache()],
      role: role.withoutPolicyUpdates(),
      logGroup,
      memoryLimit: 256,
    });
    const sources = deployment.node.children.filter((c): c is Asset => c instanceof Asset);
    const policy = new iam.Policy(this, 'PublisherPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: sources.map((a) => a.bucket.arnForObjects(a.s3ObjectKey)) }),
        new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
        new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:DeleteObject'], resources: [this.bucket.arnForObjects('*')] }),
        new iam.PolicyStatement({
          actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
          resources: [this.distribution.distributionArn],
        }),
      ],
    });
    logGroup.grantWrite(role);
    // The upload runs only once its role may read, write, invalidate and log.
    deployment.node.addDependency(role, policy);
    const bucketId = Stack.of(this).resolve((this.bucket.node.defaultChild as s3.CfnBucket).logicalId) as string;
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
      reason: 'The publisher writes and prunes whatever the console build holds, so it writes every object of the console bucket and nothing else.',
    });
    const handler = deployment.node.children.find((c): c is lambda.SingletonFunction => c instanceof lambda.SingletonFunction);
    if (!handler) throw new Error('BucketDeployment made no handler function');
    Validations.of(Stack.of(this).node.findChild(handler.constructName)).acknowledge({
      id: 'AwsSolutions-L1',
      reason: "BucketDeployment's handler runs the Python runtime aws-cdk-lib pins for it (with its AWS CLI layer); it cannot be chosen.",
    });
    return deployment;
  }

  /**
   * The console's response headers. The CSP lets the page load only its own files and call only its origin, the
   * regional API Gateway and Cognito endpoints. It names API Gateway by region, not the API's host: the API's CORS
   * names this distribution, and CloudFormation allows no cycle; Cognito's regional endpoint is no narrower either.
   */
  private securityHeaders(): cloudfront.ResponseHeadersPolicy {
    const { region, urlSuffix } = Stack.of(this);
    const csp = [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "font-src 'self'",
      `connect-src 'self' https://*.execute-api.${region}.${urlSuffix} https://cognito-idp.${region}.${urlSuffix}`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      'upgrade-insecure-requests',
    ].join('; ');
    return new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'AgentSec console: CSP, HSTS, no sniffing, no referrer, no framing',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: csp, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: 'Cross-Origin-Opener-Policy', value: 'same-origin', override: true },
          { header: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=(), usb=()', override: true },
        ],
      },
    });
  }

  private acknowledgeDistributionFindings(withoutWaf: boolean): void {
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'Operators may sign in from anywhere; the console is static files, and every call it makes needs a Cognito token.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason: 'The default *.cloudfront.net certificate fixes the viewer security policy (TLSv1); a custom domain and certificate would lift it.',
      },
    );
    if (withoutWaf) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR2',
        reason: 'No web ACL given (webAclArn): the console is static files, and the API it calls throttles per stage and checks every token.',
      });
    }
  }
}

/**
 * Builds the console with esbuild from node_modules, as the Lambda functions are built. Without esbuild installed,
 * CDK falls back to a Node image that installs the project and runs the same build.
 */
function consoleBundling(): BundlingOptions {
  return {
    local: {
      tryBundle(outputDir: string): boolean {
        try {
          require.resolve('esbuild', { paths: [PROJECT_ROOT] });
        } catch {
          return false;
        }
        // Loaded only when bundling: a synth that skips bundling needs neither esbuild nor the console's sources.
        const { buildConsoleSync } = require('../console/build') as typeof import('../console/build');
        buildConsoleSync(outputDir);
        return true;
      },
    },
    image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24-bookworm-slim'),
    volumes: [{ hostPath: PROJECT_ROOT, containerPath: '/project' }],
    environment: { HOME: '/tmp', npm_config_cache: '/tmp/.npm' },
    command: [
      'bash',
      '-c',
      [
        'mkdir -p /tmp/project',
        'tar -C /project --exclude=./node_modules --exclude=./cdk.out --exclude=./.agentsec --exclude=./.git -cf - . | tar -C /tmp/project -xf -',
        'cd /tmp/project',
        'npm ci --no-audit --no-fund',
        `npx --no tsx -e "require('./console/build').buildConsoleSync('/asset-output')"`,
      ].join(' && '),
    ],
  };
}
