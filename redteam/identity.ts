import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  AdminUpdateUserAttributesCommand,
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  InitiateAuthCommand,
  SignUpCommand,
  UpdateUserAttributesCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { decodeJwt, motoSigningKey, signJwt } from '../localstack/moto-tokens';
import { awsClientConfig } from '../functions/platform/aws-clients';
import { ensureUserPool, ensureUsers } from '../localstack/provision-users';
import { Outcome, outcome } from './attempt';
import type { RedTeamCloud } from './cloud';
import { markersIn } from './evidence';
import { CommandWatch } from './command-watch';
import type { Scenarios } from './scenarios';

/**
 * Identity attacks (DESIGN §2, §8, §10): tokens that are forged, expired, from another pool or client, or of the
 * wrong use (401); users asking above their clearance, however they dress it up (403); reading other users'
 * commands (404); results above the reader's clearance (withheld).
 */

type Call = { method: string; path: string; body?: unknown };

/** The HTTP status the API answers `call` with, under `authorization` (verbatim, or none). */
async function statusOf(rt: RedTeamCloud, call: Call, authorization?: string): Promise<number> {
  const res = await fetch(`${rt.state.apiUrl}${call.path}`, {
    method: call.method,
    headers: { ...(authorization !== undefined ? { authorization } : {}), ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: call.body !== undefined ? JSON.stringify(call.body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  await res.arrayBuffer();
  return res.status;
}

function judged(name: string, expected: number, got: number): Outcome {
  if (got === expected) return outcome('identity', name, 'blocked', `HTTP ${got}`);
  if (got < 400) return outcome('identity', name, 'success', `the API answered HTTP ${got}`);
  return outcome('identity', name, got >= 500 ? 'error' : 'blocked', `HTTP ${got}`, `expected HTTP ${expected}`);
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** Token forgeries of alice's real ID token, each refused by the JWT authorizer before the API runs. */
async function forgedTokens(rt: RedTeamCloud, read: Call): Promise<Outcome[]> {
  const real = await rt.token('alice');
  const { header, payload } = decodeJwt(real);
  const [h, p, sig] = real.split('.');
  const local = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const jwks = (await (await fetch(`${rt.state.endpoint}/${rt.state.userPoolId}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, string>> };
  const publicPem = createPublicKey({ key: jwks.keys[0], format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const hs256 = (key: string | Buffer) => {
    const input = `${b64({ ...header, alg: 'HS256' })}.${p}`;
    return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
  };
  const [bobHeader, bobPayload, bobSig] = (await rt.token('bob')).split('.');
  const raised = { ...decodeJwt(`${bobHeader}.${bobPayload}.`).payload, 'custom:clearance': 'TOP_SECRET', 'custom:compartments': 'FINANCE,MEDICAL' };
  const elevatedBob = `${bobHeader}.${b64(raised)}.${bobSig}`;
  const now = Math.floor(Date.now() / 1000);
  const moto = motoSigningKey();
  const cases: Array<[string, string | undefined]> = [
    ['no token', undefined],
    ['a bearer that is not a JWT', 'Bearer abc.def.ghi'],
    ['alg none', `Bearer ${signJwt({ ...header, alg: 'none' }, payload)}`],
    ['alg None with the original signature', `Bearer ${b64({ ...header, alg: 'None' })}.${p}.${sig}`],
    ['HS256 keyed with the pool public key (algorithm confusion)', `Bearer ${hs256(publicPem)}`],
    ['RS256 signed by a key of our own, under the pool key id', `Bearer ${signJwt(header, payload, local)}`],
    ['RS256 signed by a key of our own, embedded as a jwk header', `Bearer ${signJwt({ ...header, jwk: createPublicKey(local).export({ format: 'jwk' }) }, payload, local)}`],
    ["bob's token with its clearance claims raised, signature kept", `Bearer ${elevatedBob}`],
    ['a token with its signature removed', `Bearer ${h}.${p}.`],
    ['a token with its expiry pushed back, signature kept', `Bearer ${h}.${b64({ ...payload, exp: now + 86_400 })}.${sig}`],
    ['an access token instead of an ID token', `Bearer ${await accessToken(rt, 'alice')}`],
    ['an ID token of another user pool', `Bearer ${await otherPoolToken(rt)}`],
    ['an ID token of another app client of the same pool', `Bearer ${await otherClientToken(rt)}`],
  ];
  if (moto) {
    // The emulator signs every pool's tokens with a key that ships inside moto: genuine-looking tokens for free.
    cases.push(
      ['an expired token (signed by the emulator key)', `Bearer ${signJwt(header, { ...payload, iat: now - 7200, exp: now - 3600 }, moto)}`],
      ['a token for another audience (signed by the emulator key)', `Bearer ${signJwt(header, { ...payload, aud: 'another-client' }, moto)}`],
      ['a token of another issuer (signed by the emulator key)', `Bearer ${signJwt(header, { ...payload, iss: `${String(payload.iss)}x` }, moto)}`],
      ['a token whose token_use is access (signed by the emulator key)', `Bearer ${signJwt(header, { ...payload, token_use: 'access' }, moto)}`],
    );
  }
  const outcomes: Outcome[] = [];
  for (const [name, authorization] of cases) outcomes.push(judged(`token: ${name}`, 401, await statusOf(rt, read, authorization)));
  return outcomes;
}

function cognito(rt: RedTeamCloud): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient(awsClientConfig({ endpoint: rt.state.endpoint, region: rt.state.region }));
}

async function accessToken(rt: RedTeamCloud, username: string): Promise<string> {
  const password = rt.state.users.find((u) => u.username === username)!.password;
  const out = await cognito(rt).send(
    new InitiateAuthCommand({ ClientId: rt.state.userPoolClientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: username, PASSWORD: password } }),
  );
  return out.AuthenticationResult!.AccessToken!;
}

/** alice's ID token from a second pool with the same users: valid signature, wrong issuer. */
async function otherPoolToken(rt: RedTeamCloud): Promise<string> {
  const client = cognito(rt);
  const pool = await ensureUserPool(client, `${rt.state.userPoolId.slice(-8)}-other`);
  const [alice] = await ensureUsers(client, pool.userPoolId, rt.topology.users.filter((u) => u.username === 'alice'));
  const out = await client.send(
    new InitiateAuthCommand({ ClientId: pool.userPoolClientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'alice', PASSWORD: alice.password } }),
  );
  return out.AuthenticationResult!.IdToken!;
}

/** alice's ID token for another app client of the API's pool: valid signature and issuer, wrong audience. */
async function otherClientToken(rt: RedTeamCloud): Promise<string> {
  const client = cognito(rt);
  const created = await client.send(
    new CreateUserPoolClientCommand({ UserPoolId: rt.state.userPoolId, ClientName: 'red-team-other-client', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] }),
  );
  const password = rt.state.users.find((u) => u.username === 'alice')!.password;
  const out = await client.send(
    new InitiateAuthCommand({ ClientId: created.UserPoolClient!.ClientId!, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'alice', PASSWORD: password } }),
  );
  return out.AuthenticationResult!.IdToken!;
}

const above = (level: string, compartments: string[] = []) => ({ text: 'Summarize the ward report.', classification: { level, compartments } });

/** Users asking above their clearance, directly and with doctored identities. */
async function aboveClearance(rt: RedTeamCloud): Promise<Outcome[]> {
  const post = (body: unknown): Call => ({ method: 'POST', path: '/v1/commands', body });
  const outcomes: Outcome[] = [];
  const asks: Array<[string, string, ReturnType<typeof above>]> = [
    ['bob (CONFIDENTIAL)', 'bob', above('SECRET')],
    ['bob (CONFIDENTIAL)', 'bob', above('CONFIDENTIAL', ['MEDICAL'])],
    ['bob (CONFIDENTIAL)', 'bob', above('TOP_SECRET', ['FINANCE', 'MEDICAL'])],
    ['carol (SECRET/MEDICAL)', 'carol', above('TOP_SECRET')],
    ['carol (SECRET/MEDICAL)', 'carol', above('SECRET', ['FINANCE'])],
    ['carol (SECRET/MEDICAL)', 'carol', above('SECRET', ['FINANCE', 'MEDICAL'])],
  ];
  for (const [who, user, body] of asks) {
    const label = `${body.classification.level}${body.classification.compartments.length ? `/${body.classification.compartments.join('+')}` : ''}`;
    outcomes.push(judged(`${who} submits a ${label} command`, 403, await statusOf(rt, post(body), `Bearer ${await rt.token(user)}`)));
  }
  outcomes.push(judged('bob submits a label with an unknown compartment', 400, await statusOf(rt, post(above('CONFIDENTIAL', ['NUCLEAR'])), `Bearer ${await rt.token('bob')}`)));

  const moto = motoSigningKey();
  if (moto) {
    const { header, payload } = decodeJwt(await rt.token('bob'));
    const minted = signJwt(header, { ...payload, 'custom:clearance': 'TOP_SECRET', 'custom:compartments': 'FINANCE,MEDICAL' }, moto);
    outcomes.push(judged('bob with a validly signed token claiming TOP_SECRET', 403, await statusOf(rt, post(above('TOP_SECRET')), `Bearer ${minted}`)));
  }
  outcomes.push(await rewrittenOwnAttributes(rt, post(above('TOP_SECRET'))));
  outcomes.push(await selfSignUp(rt, post(above('TOP_SECRET'))));
  return outcomes;
}

/** bob rewrites his own custom:clearance (the emulator ignores the client's write attributes); the topology caps him. */
async function rewrittenOwnAttributes(rt: RedTeamCloud, call: Call): Promise<Outcome> {
  const client = cognito(rt);
  try {
    await client.send(new UpdateUserAttributesCommand({ AccessToken: await accessToken(rt, 'bob'), UserAttributes: [{ Name: 'custom:clearance', Value: 'TOP_SECRET' }] }));
    return judged('bob rewrites his own custom:clearance to TOP_SECRET', 403, await statusOf(rt, call, `Bearer ${await rt.token('bob')}`));
  } catch (err) {
    return outcome('identity', 'bob rewrites his own custom:clearance to TOP_SECRET', 'blocked', `Cognito refused: ${(err as Error).name}`);
  } finally {
    await client.send(new AdminUpdateUserAttributesCommand({ UserPoolId: rt.state.userPoolId, Username: 'bob', UserAttributes: [{ Name: 'custom:clearance', Value: 'CONFIDENTIAL' }] }));
    rt.relogin('bob');
  }
}

/** Anyone signs up with a clearance of their choosing: the pool allows administrators only to create users. */
async function selfSignUp(rt: RedTeamCloud, call: Call): Promise<Outcome> {
  const name = 'self-signed-up user claiming TOP_SECRET';
  const client = cognito(rt);
  const username = 'mallory';
  const password = 'Red-team-1234567890!';
  try {
    await client.send(
      new SignUpCommand({
        ClientId: rt.state.userPoolClientId,
        Username: username,
        Password: password,
        UserAttributes: [
          { Name: 'custom:clearance', Value: 'TOP_SECRET' },
          { Name: 'custom:compartments', Value: 'FINANCE,MEDICAL' },
        ],
      }),
    );
  } catch (err) {
    return outcome('identity', name, 'blocked', `Cognito refused the sign-up: ${(err as Error).name}`);
  }
  let token: string;
  try {
    const out = await client.send(
      new InitiateAuthCommand({ ClientId: rt.state.userPoolClientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: username, PASSWORD: password } }),
    );
    token = out.AuthenticationResult!.IdToken!;
  } catch (err) {
    return outcome('identity', name, 'blocked', `signed up, but Cognito refused the login: ${(err as Error).name}`);
  }
  return judged(name, 403, await statusOf(rt, call, `Bearer ${token}`));
}

/** Reading what is not yours: other users' commands (404, never 403, so existence does not leak) and the audit. */
async function acrossUsers(rt: RedTeamCloud, s: Scenarios): Promise<Outcome[]> {
  const read = (id: string): Call => ({ method: 'GET', path: `/v1/commands/${id}` });
  const cases: Array<[string, string, Call, number]> = [
    ["bob reads alice's command", 'bob', read(s.commands.alice), 404],
    ["carol reads alice's command", 'carol', read(s.commands.alice), 404],
    ["dave reads alice's command", 'dave', read(s.commands.alice), 404],
    ["alice reads bob's command", 'alice', read(s.commands.bob), 404],
    ["carol reads bob's command", 'carol', read(s.commands.bob), 404],
    ['bob reads a path that is not a command id', 'bob', read('..%2Faudit'), 400],
    ['bob reads the audit log', 'bob', { method: 'GET', path: '/v1/audit' }, 403],
    ['bob verifies the audit log', 'bob', { method: 'GET', path: '/v1/audit/verify' }, 403],
    ['bob forces a ledger checkpoint', 'bob', { method: 'POST', path: '/v1/audit/checkpoints' }, 403],
  ];
  const outcomes: Outcome[] = [];
  for (const [name, user, call, status] of cases) outcomes.push(judged(name, status, await statusOf(rt, call, `Bearer ${await rt.token(user)}`)));
  outcomes.push(await resultAboveClearance(rt));
  return outcomes;
}

/** bob's own command reads a patient record through the analyst: the answer rises to SECRET/MEDICAL and is withheld. */
async function resultAboveClearance(rt: RedTeamCloud): Promise<Outcome> {
  const name = "bob's own command whose answer carries a patient record";
  const bob = await rt.as('bob');
  const task = { task: 'Use read_patient_record with arguments {"patientId":"P-1002"} and reply with the whole record.' };
  const { commandId } = await bob.submit({ text: `Call the tool analyst with ${JSON.stringify(task)}`, classification: { level: 'CONFIDENTIAL', compartments: [] } });
  await new CommandWatch(rt).settled(commandId);
  const view = await bob.command(commandId);
  if (view.result !== undefined && markersIn(view.result).length > 0) return outcome('identity', name, 'success', `bob read ${markersIn(view.result).join(', ')}`);
  if (view.resultWithheld) return outcome('identity', name, 'blocked', `result withheld (${view.resultWithheld.reason}, ${view.resultWithheld.label})`);
  return outcome('identity', name, 'contained', `${view.status}, no record in the answer`);
}

export async function runIdentity(rt: RedTeamCloud, s: Scenarios): Promise<Outcome[]> {
  const read: Call = { method: 'GET', path: `/v1/commands/${s.commands.alice}` };
  return [...(await forgedTokens(rt, read)), ...(await aboveClearance(rt)), ...(await acrossUsers(rt, s))];
}
