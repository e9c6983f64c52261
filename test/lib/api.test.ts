import { Synthesized, logicalIdOf, synthesize } from './support/synth';

/** DESIGN §8, §10: the HTTP API behind a JWT authorizer on Cognito ID tokens that carry the user's clearance. */
describe('the HTTP API and the user pool', () => {
  let s: Synthesized;
  let pool: string;
  let client: string;
  beforeAll(() => {
    s = synthesize();
    pool = logicalIdOf(s.stack, s.stack.api.userPool);
    client = logicalIdOf(s.stack, s.stack.api.userPoolClient);
  });

  it('serves exactly the routes of DESIGN §10 (and the passkey routes of §5), each behind the JWT authorizer', () => {
    const routes = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    expect(routes.map((r) => r.Properties!.RouteKey).sort()).toEqual(
      [
        'POST /v1/commands',
        'GET /v1/commands/{id}',
        'GET /v1/me',
        'POST /v1/passkeys/options',
        'POST /v1/passkeys',
        'GET /v1/approvals',
        'POST /v1/approvals/{id}',
        'GET /v1/audit',
        'GET /v1/audit/verify',
        'GET /v1/audit/proofs/{id}',
        'GET /v1/audit/consistency',
        'POST /v1/audit/checkpoints',
      ].sort(),
    );
    for (const route of routes) expect(route.Properties).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: expect.any(String) } });
  });

  it('accepts only ID tokens of this user pool and app client (issuer and audience)', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Audience: [{ Ref: client }],
        Issuer: { 'Fn::Join': ['', ['https://cognito-idp.', { Ref: 'AWS::Region' }, '.amazonaws.com/', { Ref: pool }]] },
      },
    });
  });

  it('is an HTTP API (API Gateway v2) whose routes all reach the API function', () => {
    s.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    const fn = logicalIdOf(s.stack, s.stack.api.handler.fn);
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [fn, 'Arn'] },
      PayloadFormatVersion: '2.0',
    });
  });

  it('logs every request of the default stage and throttles it', () => {
    const stages = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Stage');
    expect(stages).toHaveLength(1);
    expect(stages[0].Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } },
      DefaultRouteSettings: { ThrottlingBurstLimit: 50, ThrottlingRateLimit: 20 },
    });
    const format = JSON.parse(stages[0].Properties!.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
  });

  it('carries the clearance in custom attributes clearance and compartments', () => {
    const schema = s.json.Resources[pool].Properties!.Schema as Array<Record<string, unknown>>;
    expect(schema).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Name: 'clearance', AttributeDataType: 'String', Mutable: true }),
        expect.objectContaining({ Name: 'compartments', AttributeDataType: 'String', Mutable: true }),
      ]),
    );
  });

  it('lets no one sign up: a clearance is assigned by an administrator', () => {
    expect(s.json.Resources[pool].Properties!.AdminCreateUserConfig).toEqual({ AllowAdminCreateUserOnly: true });
  });

  it('a user cannot raise their own clearance: the app client writes no attribute, and reads the clearance into the ID token', () => {
    const props = s.json.Resources[client].Properties!;
    expect(props.WriteAttributes).toEqual([]);
    expect(props.ReadAttributes).toEqual(expect.arrayContaining(['custom:clearance', 'custom:compartments']));
  });

  it('the app client has no OAuth flows and no secret; it logs in with a password or SRP', () => {
    const props = s.json.Resources[client].Properties!;
    expect(props.AllowedOAuthFlows).toBeUndefined();
    expect(props.AllowedOAuthFlowsUserPoolClient).toBe(false);
    expect(props.GenerateSecret).toBe(false);
    expect(props.ExplicitAuthFlows.sort()).toEqual(['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH']);
  });

  it('requires strong passwords and offers TOTP MFA', () => {
    expect(s.json.Resources[pool].Properties).toMatchObject({
      Policies: { PasswordPolicy: { MinimumLength: 12, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true } },
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
    });
  });

  it('gives the API function the user pool and client ids', () => {
    const env = s.json.Resources[logicalIdOf(s.stack, s.stack.api.handler.fn)].Properties!.Environment.Variables;
    expect(env).toMatchObject({ AGENTSEC_USER_POOL_ID: { Ref: pool }, AGENTSEC_USER_POOL_CLIENT_ID: { Ref: client } });
  });
});
