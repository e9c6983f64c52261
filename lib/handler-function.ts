import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, serviceNameOf } from '../functions/platform/metrics';
import { Actor } from './actor';

/** The repository root: handler entries, the lock file and `tsconfig.json` are resolved from it. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** The handler entry files (one per kind of function), each exporting `handler`. */
export const HANDLER_ENTRIES = {
  api: 'functions/handlers/api.ts',
  core: 'functions/handlers/core.ts',
  effector: 'functions/handlers/effector.ts',
  signer: 'functions/handlers/signer.ts',
  effects: 'functions/handlers/effects.ts',
  sequencer: 'functions/handlers/sequencer.ts',
} as const;

export type HandlerKind = keyof typeof HANDLER_ENTRIES;

/** The newest Node.js runtime this aws-cdk-lib knows (AWS still accepts it; cdk-nag's L1 asks for the newest). */
export const RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface HandlerFunctionProps {
  /** The name the function acts under (encryption contexts, ledger entries). */
  readonly actorName: string;
  /** Which handler entry file to bundle. */
  readonly handler: HandlerKind;
  /** @default 256 */
  readonly memoryMiB?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** Environment of the handler; `NODE_OPTIONS` for source maps and the `POWERTOOLS_*` variables are added. */
  readonly environment?: Record<string, string>;
  /**
   * Level of its structured logs (`POWERTOOLS_LOG_LEVEL`); Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`),
   * when set on the function, take precedence. @default 'INFO'
   */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /**
   * Why its role has actions on every resource besides X-Ray's, for cdk-nag's AwsSolutions-IAM5 acknowledgment.
   * @default none: X-Ray's are the only ones
   */
  readonly wildcardResourceReason?: string;
  /** How long its logs are kept. @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** Instances that may run at once (the sequencer's 1). @default unreserved */
  readonly reservedConcurrency?: number;
  /** Build-time constants for esbuild (`define`): an agent's selects the tools its bundle holds. @default none */
  readonly define?: Record<string, string>;
}

/**
 * One Lambda function running a handler of `functions/handlers/` with the project's runtime (Node.js 24,
 * arm64) and bundling (esbuild, locally, minified, source maps, for a target Node 20 also runs), its own
 * execution role with no permission but writing its own log group and X-Ray traces, and that log group. Powertools
 * names it `agentsec-<actor>` in its logs, metrics and traces (`POWERTOOLS_SERVICE_NAME`).
 */
export class HandlerFunction extends Construct implements Actor {
  readonly actorName: string;
  /** The handler file bundled into this function, relative to the repository root. */
  readonly entry: string;
  readonly role: iam.Role;
  readonly fn: NodejsFunction;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    this.actorName = props.actorName;
    this.entry = HANDLER_ENTRIES[props.handler];
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `AgentSec ${props.actorName}: only what DESIGN §3 grants it`,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Written explicitly instead of AWSLambdaBasicExecutionRole, which may write every log group.
    this.logGroup.grantWrite(this.role);
    this.fn = new NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, this.entry),
      handler: 'handler',
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memoryMiB ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      ...(props.reservedConcurrency !== undefined && { reservedConcurrentExecutions: props.reservedConcurrency }),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: serviceNameOf(props.actorName),
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      },
      // Powertools Tracer (functions/handlers/observed.ts); CDK grants the role its X-Ray writes.
      tracing: lambda.Tracing.ACTIVE,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        // esbuild from node_modules, never Docker: synth works offline on a machine without Docker.
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        target: 'node20',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The pinned SDK goes into the bundle, so AWS's runtime SDK version never changes behaviour.
        externalModules: [],
        // ES module builds first: they tree-shake (zod's locales and JSON-schema converters stay out of the bundle).
        mainFields: ['module', 'main'],
        tsconfig: path.join(PROJECT_ROOT, 'tsconfig.json'),
        ...(props.define && { define: props.define }),
      },
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `X-Ray's PutTraceSegments and PutTelemetryRecords, which active tracing needs, have no resource-level permissions${
        props.wildcardResourceReason ? `; ${props.wildcardResourceReason}` : '.'
      }`,
    });
  }

  /** Adds or replaces one environment variable of the handler. */
  setEnvironment(name: string, value: string): void {
    this.fn.addEnvironment(name, value);
  }
}
