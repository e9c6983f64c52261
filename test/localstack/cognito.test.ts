import { InitiateAuthCommand, UpdateUserAttributesCommand } from '@aws-sdk/client-cognito-identity-provider';
import { isSecurityError } from '../../functions/kernel/errors';
import { formatLabel } from '../../functions/kernel/labels';
import { clearanceFromClaims, createTokenVerifier, login } from '../../localstack/cognito';
import { ensureUserPool, ensureUsers, SeededUser, UserPool } from '../../localstack/provision-users';
import { emulatorEndpoint } from '../support/aws';
import { cognito, decodeJwt, topologyWith, uniquePrefix } from './support';

const topology = topologyWith();

describe('Cognito users on the emulator', () => {
  let pool: UserPool;
  let users: Record<string, SeededUser>;
  const loginAs = (username: string, password = users[username].password) =>
    login({ endpoint: emulatorEndpoint(), userPoolClientId: pool.userPoolClientId, username, password });

  beforeAll(async () => {
    pool = await ensureUserPool(cognito(), uniquePrefix('cog'));
    const seeded = await ensureUsers(cognito(), pool.userPoolId, topology.users);
    users = Object.fromEntries(seeded.map((u) => [u.username, u]));
  });

  it('login returns an ID token whose verified claims carry the clearance', async () => {
    const { token, expiresAt } = await loginAs('alice');
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now() + 50 * 60_000);
    const claims = await createTokenVerifier({ endpoint: emulatorEndpoint(), ...pool }).verify(token);
    expect(claims).toMatchObject({
      token_use: 'id',
      'cognito:username': 'alice',
      'custom:clearance': 'TOP_SECRET',
      'custom:compartments': 'FINANCE,MEDICAL',
      iss: `https://cognito-idp.${pool.userPoolId.split('_')[0]}.amazonaws.com/${pool.userPoolId}`,
      aud: pool.userPoolClientId,
    });
    expect(formatLabel(clearanceFromClaims(claims, topology))).toBe('TOP_SECRET/FINANCE+MEDICAL');
  });

  it('a user without compartments is cleared for none', async () => {
    const { token } = await loginAs('bob');
    const claims = await createTokenVerifier({ endpoint: emulatorEndpoint(), ...pool }).verify(token);
    expect(clearanceFromClaims(claims, topology)).toEqual({ level: 'CONFIDENTIAL', compartments: [] });
  });

  it('a wrong password does not log in', async () => {
    await expect(loginAs('alice', `${users.alice.password}x`)).rejects.toMatchObject({ name: 'NotAuthorizedException' });
  });

  it('a missing or unknown clearance in the claims is refused, never defaulted', () => {
    const base = { 'cognito:username': 'zed' };
    const refused = [
      {},
      { 'custom:clearance': '' },
      { 'custom:clearance': 'COSMIC' },
      { 'custom:clearance': 'secret' },
      { 'custom:clearance': 'SECRET', 'custom:compartments': 'NUCLEAR' },
      { 'custom:clearance': 'SECRET', 'custom:compartments': 'medical' },
      { 'custom:clearance': 'SECRET', 'custom:compartments': ['MEDICAL'] },
      { 'custom:clearance': 3 },
    ];
    for (const claims of refused) {
      let error: unknown;
      try {
        clearanceFromClaims({ ...base, ...claims }, topology);
      } catch (err) {
        error = err;
      }
      expect(isSecurityError(error)).toBe(true);
    }
    expect(clearanceFromClaims({ ...base, 'custom:clearance': 'SECRET', 'custom:compartments': 'MEDICAL' }, topology)).toEqual({
      level: 'SECRET',
      compartments: ['MEDICAL'],
    });
  });

  it('a user who rewrites their own custom:clearance gains no clearance', async () => {
    // The emulator ignores the client's WriteAttributes, so the rewrite goes through and the new token carries it.
    const auth = await cognito().send(
      new InitiateAuthCommand({
        ClientId: pool.userPoolClientId,
        AuthFlow: 'USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME: 'bob', PASSWORD: users.bob.password },
      }),
    );
    await cognito().send(
      new UpdateUserAttributesCommand({
        AccessToken: auth.AuthenticationResult!.AccessToken!,
        UserAttributes: [{ Name: 'custom:clearance', Value: 'TOP_SECRET' }],
      }),
    );
    const { token } = await loginAs('bob');
    const claims = await createTokenVerifier({ endpoint: emulatorEndpoint(), ...pool }).verify(token);
    expect(decodeJwt(token).payload['custom:clearance']).toBe('TOP_SECRET');
    expect(() => clearanceFromClaims(claims, topology)).toThrow(/NOT_AUTHORIZED: bob claims TOP_SECRET but is cleared for CONFIDENTIAL/);
  });
});
