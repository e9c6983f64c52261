import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { Actor } from './actor';
import { API_ACTOR } from './access-rules';
import { API_ROUTES } from '../functions/api/routes';
import { HandlerFunction } from './handler-function';

/** Cognito custom attributes that carry a user's clearance into the ID token (`custom:clearance`, `custom:compartments`). */
export const CLEARANCE_ATTRIBUTES = { level: 'clearance', compartments: 'compartments' } as const;

export interface CommandApiProps {
  /** What happens to the user pool when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** The operator console's origin (`https://<host>`): the one origin browsers may call the API from. @default no cross-origin calls */
  readonly consoleOrigin?: string;
}

/**
 * The user-facing side (DESIGN §8): a Cognito user pool whose users carry a clearance only an administrator
 * can set, an HTTP API (API Gateway v2) whose every route needs a Cognito ID token (JWT authorizer), and the
 * API function behind it.
 */
export class CommandApi extends Construct implements Actor {
  readonly actorName = API_ACTOR;
  readonly handler: HandlerFunction;
  readonly role: iam.Role;
  readonly userPool: cognito.UserPool;
  readonly userPoolClient: cognito.UserPoolClient;
  readonly httpApi: apigw.HttpApi;
  /** The issuer of the ID tokens the authorizer accepts. */
  readonly issuer: string;

  constructor(scope: Construct, id: string, props: CommandApiProps = {}) {
    super(scope, id);
    this.userPool = new cognito.UserPool(this, 'Users', {
      // Clearances are assigned, never claimed: only administrators create users.
      selfSignUpEnabled: false,
      signInAliases: { username: true },
      customAttributes: {
        [CLEARANCE_ATTRIBUTES.level]: new cognito.StringAttribute({ minLen: 1, maxLen: 32, mutable: true }),
        [CLEARANCE_ATTRIBUTES.compartments]: new cognito.StringAttribute({ minLen: 0, maxLen: 512, mutable: true }),
      },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.NONE,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.userPool).acknowledge(
      {
        id: 'AwsSolutions-COG2',
        reason: 'MFA is offered (TOTP) but not forced, so the CLI and the test users can log in non-interactively; require it per deployment with Mfa.REQUIRED.',
      },
      {
        id: 'AwsSolutions-COG8',
        reason: 'The Plus feature plan (threat protection) is a paid tier left to the operator; users are created by administrators only.',
      },
    );
    const readable = new cognito.ClientAttributes()
      .withStandardAttributes({ preferredUsername: true })
      .withCustomAttributes(CLEARANCE_ATTRIBUTES.level, CLEARANCE_ATTRIBUTES.compartments);
    this.userPoolClient = this.userPool.addClient('Cli', {
      authFlows: { userPassword: true, userSrp: true },
      // The CLI logs in with a password; no hosted UI, so no OAuth flows (and never the implicit one).
      disableOAuth: true,
      generateSecret: false,
      preventUserExistenceErrors: true,
      readAttributes: readable,
      // No attribute is user-writable, so a user cannot raise their own clearance (DESIGN §8).
      writeAttributes: new cognito.ClientAttributes(),
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(1),
    });

    this.handler = new HandlerFunction(this, 'Handler', {
      actorName: API_ACTOR,
      handler: 'api',
      memoryMiB: 512,
      // API Gateway waits at most 30 s for an integration.
      timeout: Duration.seconds(29),
    });
    this.role = this.handler.role;

    this.issuer = `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${this.userPool.userPoolId}`;
    const authorizer = new HttpJwtAuthorizer('CognitoIdToken', this.issuer, {
      jwtAudience: [this.userPoolClient.userPoolClientId],
      identitySource: ['$request.header.Authorization'],
    });
    this.httpApi = new apigw.HttpApi(this, 'Http', {
      description: 'AgentSec commands, approvals and audit',
      defaultAuthorizer: authorizer,
      createDefaultStage: true,
      ...(props.consoleOrigin !== undefined && { corsPreflight: consoleCors(props.consoleOrigin) }),
    });
    const integration = new HttpLambdaIntegration('Api', this.handler.fn);
    // The routes are listed once (functions/api/routes.ts): the same list the API function and the local cloud serve.
    for (const route of API_ROUTES) {
      this.httpApi.addRoutes({ path: route.path, methods: [apigw.HttpMethod[route.method]], integration });
    }
    this.configureStage();
  }

  /** Access logs (JSON) and throttling on the default stage. */
  private configureStage(): void {
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stage = this.httpApi.defaultStage!.node.defaultChild as apigw.CfnStage;
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        requestTime: '$context.requestTime',
        routeKey: '$context.routeKey',
        status: '$context.status',
        principal: '$context.authorizer.claims.sub',
        authorizerError: '$context.authorizer.error',
        integrationError: '$context.integrationErrorMessage',
      }),
    };
    stage.defaultRouteSettings = { throttlingBurstLimit: 50, throttlingRateLimit: 20 };
  }
}

/**
 * CORS for the console alone: its origin, the methods of API_ROUTES and the headers the console sends. No credentials:
 * the console sends its token as a bearer header, never a cookie.
 */
function consoleCors(origin: string): apigw.CorsPreflightOptions {
  return {
    allowOrigins: [origin],
    allowMethods: [...new Set(API_ROUTES.map((route) => apigw.CorsHttpMethod[route.method])), apigw.CorsHttpMethod.OPTIONS],
    allowHeaders: ['authorization', 'content-type', 'idempotency-key'],
    allowCredentials: false,
    maxAge: Duration.hours(1),
  };
}
