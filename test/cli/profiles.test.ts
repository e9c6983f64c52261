import { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { AdminGetUserCommand, AuthFlowType, CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { loginWithSrp } from '../../localstack/cognito';
import { LocalResources, readLocalState } from '../../localstack/local-state';
import { emulatorEndpoint, unique } from '../support/aws';
import { SrpCognito } from './srp-cognito';
import { agentsec, CliResult, json, startDev, stop } from './support';

/**
 * The CLI against a deployed stack: `agentsec use` makes a profile from the stack's outputs (the file `cdk deploy
 * --outputs-file` writes, or CloudFormation), `--profile` sends a command to it, and `login` proves the user's password
 * with SRP. The "deployed stack" is a local cloud started here, described by outputs that point at it; commands run in
 * another state directory, one without the local cloud's `local.json`, so only the profile can lead them to it.
 *
 * The emulator cannot log anyone in with SRP (moto 5.2.1 sends a random B and salt, takes any proof, and names the user
 * by an id it cannot look up), so Cognito's SRP side is played by `SrpCognito` (test/cli/srp-cognito.ts): it checks the
 * password proof for real and, when it holds, hands out the emulator's own tokens, which the local cloud's API accepts.
 */

const cloudDir = mkdtempSync(path.join(tmpdir(), 'agentsec-stack-'));
const dir = mkdtempSync(path.join(tmpdir(), 'agentsec-profiles-'));
let dev: { child: ChildProcess; output: () => string };
let state: LocalResources;
let cognito: SrpCognito;
let srpEndpoint: string;

const DAVE_TEMPORARY = 'Temporary-Passw0rd!';

beforeAll(async () => {
  dev = await startDev(cloudDir, `prof-${Math.random().toString(36).slice(2, 8)}`);
  state = readLocalState(path.join(cloudDir, 'local.json'));
  const seeded = (username: string) => state.users.find((u) => u.username === username)!.password;
  const pool = new CognitoIdentityProviderClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
  cognito = new SrpCognito(state.userPoolId, state.userPoolClientId, async (username) => {
    const out = await pool.send(
      new InitiateAuthCommand({
        ClientId: state.userPoolClientId,
        AuthFlow: AuthFlowType.USER_PASSWORD_AUTH,
        AuthParameters: { USERNAME: username, PASSWORD: seeded(username) },
      }),
    );
    return out.AuthenticationResult as { IdToken: string };
  });
  for (const username of ['alice', 'bob', 'carol']) cognito.users.set(username, { password: seeded(username), status: 'CONFIRMED' });
  // dave was just made by an administrator: a temporary password, to be changed at the first login, and an authenticator app.
  cognito.users.set('dave', { password: DAVE_TEMPORARY, status: 'FORCE_CHANGE_PASSWORD', totp: '246810' });
  srpEndpoint = await cognito.start();
  // Every test may count on profile "hospital" (this local cloud) being there and chosen; the first checks how it was made.
  const made = await run(['use', '--outputs', writeOutputs('aws-outputs.json', outputsOf(state)), '--name', 'hospital']);
  if (made.code !== 0) throw new Error(`agentsec use failed: ${made.stderr}`);
}, 120_000);

afterAll(async () => {
  if (dev) await stop(dev.child, 'SIGKILL');
  await cognito?.stop();
  rmSync(cloudDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI in the profiles' state directory (no local cloud there). */
const run = (args: string[], env: NodeJS.ProcessEnv = {}) => agentsec(dir, args, 120_000, env);
/** `agentsec login` to a profile, with Cognito's SRP side played by the stand-in. */
const login = (args: string[], password: string | undefined) => run(['login', ...args], { AGENTSEC_AWS_ENDPOINT: srpEndpoint, AGENTSEC_PASSWORD: password });
const password = (username: string) => state.users.find((u) => u.username === username)!.password;
const modeOf = (file: string) => statSync(file).mode & 0o777;

/** What `cdk deploy AgentSec --outputs-file` writes (lib/agentsec-stack.ts), pointing at the local cloud started here. */
function outputsOf(resources: LocalResources, without: string[] = []): Record<string, Record<string, string>> {
  const all: Record<string, string> = {
    ConsoleUrl: resources.consoleUrl,
    ApiUrl: resources.apiUrl,
    UserPoolId: resources.userPoolId,
    UserPoolClientId: resources.userPoolClientId,
    Issuer: `https://cognito-idp.${resources.region}.amazonaws.com/${resources.userPoolId}`,
    Region: resources.region,
    QueueUrls: JSON.stringify(resources.queues),
    DeadLetterQueueUrls: JSON.stringify(resources.dlqs),
    KeyArns: JSON.stringify(resources.keys),
    AuthorityKeyArn: resources.authorityKeyArn,
    TableNames: JSON.stringify(resources.tables),
    SignerFunctionName: 'AgentSec-SignerFunction1234-AbCdEf',
    RecordSeederRoleArn: 'arn:aws:iam::123456789012:role/AgentSec-RecordSeeder',
  };
  return { AgentSec: Object.fromEntries(Object.entries(all).filter(([key]) => !without.includes(key))) };
}

function writeOutputs(name: string, outputs: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(outputs, null, 2));
  return file;
}

/** Exit 1 with exactly one line on stderr, no stack trace. */
function oneSentence(result: CliResult): string {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/^agentsec: [^\n]+\.\n$/);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return result.stderr;
}

describe('agentsec use: a profile from a deployed stack', () => {
  test('use --outputs writes the profile from the outputs file cdk writes, owner-only, and commands go to it', async () => {
    const file = writeOutputs('aws-outputs.json', outputsOf(state));
    const result = await run(['use', '--outputs', file, '--name', 'hospital', '--json']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const expected = {
      name: 'hospital',
      stack: 'AgentSec',
      apiUrl: state.apiUrl,
      region: state.region,
      userPoolId: state.userPoolId,
      userPoolClientId: state.userPoolClientId,
      consoleUrl: state.consoleUrl,
      source: file,
    };
    expect(json(result)).toEqual({ ...expected, current: true });
    const profileFile = path.join(dir, 'profiles', 'hospital.json');
    expect(JSON.parse(readFileSync(profileFile, 'utf8'))).toEqual(expected);
    expect(modeOf(profileFile)).toBe(0o600);
    expect(modeOf(path.join(dir, 'profiles'))).toBe(0o700);
    expect(json(await run(['profiles', '--json']))).toEqual([
      { name: 'local', current: false, stack: null, region: null, apiUrl: null },
      { name: 'hospital', current: true, stack: 'AgentSec', region: state.region, apiUrl: state.apiUrl },
    ]);
    // Without --name: the stack's name in lower case.
    expect(json(await run(['use', '--outputs', file, '--json']))).toMatchObject({ name: 'agentsec', current: true });
    expect((await run(['profiles'])).stdout).toMatch(/^\*\s+agentsec\s+AgentSec\s/m);
    expect((await run(['use', 'hospital'])).code).toBe(0);
  });

  test('an outputs file missing an output is refused naming it, and nothing is written', async () => {
    const file = writeOutputs('partial-outputs.json', outputsOf(state, ['UserPoolClientId']));
    const refused = oneSentence(await run(['use', '--outputs', file, '--name', 'partial']));
    expect(refused).toBe(`agentsec: ${file} has no UserPoolClientId output for stack AgentSec, which every deployed AgentSec stack has.\n`);
    const two = oneSentence(await run(['use', '--outputs', writeOutputs('two-missing.json', outputsOf(state, ['ApiUrl', 'Region'])), '--name', 'partial']));
    expect(two).toContain('has no ApiUrl or Region output');
    expect(existsSync(path.join(dir, 'profiles', 'partial.json'))).toBe(false);
  });

  test('options are checked before anything is read or written', async () => {
    const file = writeOutputs('aws-outputs.json', outputsOf(state));
    expect(oneSentence(await run(['use', '--outputs', file, '--name', 'local']))).toContain('"local" is the local cloud');
    expect(oneSentence(await run(['use', '--outputs', file, '--name', 'Not A Name']))).toContain('"Not A Name" cannot name a profile');
    expect(oneSentence(await run(['use', 'hospital', '--outputs', file]))).toContain('say which cloud to use');
    expect(oneSentence(await run(['use']))).toContain('say which cloud to use');
    expect(oneSentence(await run(['use', '--outputs', file, '--region', 'eu-west-1']))).toContain('--region is for reading --stack');
    expect(oneSentence(await run(['use', '--outputs', path.join(dir, 'nowhere.json'), '--name', 'nowhere']))).toContain('no stack outputs at');
    expect(existsSync(path.join(dir, 'profiles', 'nowhere.json'))).toBe(false);
    expect(readFileSync(path.join(dir, 'current-profile'), 'utf8').trim()).toBe('hospital');
  });

  test('use --stack reads the outputs from CloudFormation (DescribeStacks)', async () => {
    const cloudFormation = new CloudFormationClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
    const stack = unique('AgentSecCopy');
    const outputs = outputsOf(state).AgentSec;
    const template = (keys: string[]) =>
      JSON.stringify({
        // CloudFormation wants a resource; a queue is the cheapest the emulator makes.
        Resources: { Placeholder: { Type: 'AWS::SQS::Queue' } },
        Outputs: Object.fromEntries(keys.map((key) => [key, { Value: outputs[key] }])),
      });
    await cloudFormation.send(new CreateStackCommand({ StackName: stack, TemplateBody: template(Object.keys(outputs)) }));
    const result = await run(['use', '--stack', stack, '--region', state.region, '--name', 'from-cfn', '--json']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(json(result)).toEqual({
      name: 'from-cfn',
      stack,
      apiUrl: state.apiUrl,
      region: state.region,
      userPoolId: state.userPoolId,
      userPoolClientId: state.userPoolClientId,
      consoleUrl: state.consoleUrl,
      source: `CloudFormation stack ${stack} in ${state.region}`,
      current: true,
    });
    expect(modeOf(path.join(dir, 'profiles', 'from-cfn.json'))).toBe(0o600);

    const partial = unique('NotAgentSec');
    await cloudFormation.send(new CreateStackCommand({ StackName: partial, TemplateBody: template(['ApiUrl', 'Region']) }));
    expect(oneSentence(await run(['use', '--stack', partial, '--name', 'partial']))).toContain(`has no UserPoolId or UserPoolClientId output for stack ${partial}`);
    expect(oneSentence(await run(['use', '--stack', unique('Missing')]))).toMatch(/CloudFormation has no stack Missing-\w+ in us-east-1; name the region with --region\./);
    expect(existsSync(path.join(dir, 'profiles', 'partial.json'))).toBe(false);
    cloudFormation.destroy();
    expect((await run(['use', 'hospital'])).code).toBe(0);
  });

  test('an unknown profile is one sentence listing the profiles, from --profile or AGENTSEC_PROFILE', async () => {
    const names = json<Array<{ name: string }>>(await run(['profiles', '--json'])).map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['local', 'hospital']));
    const listed = `the profiles are ${names.join(', ')} (make one with \`agentsec use --outputs FILE\` or \`agentsec use --stack NAME\`).`;
    expect(oneSentence(await run(['status', '00000000-0000-4000-8000-000000000000', '--profile', 'nope']))).toBe(`agentsec: there is no profile "nope"; ${listed}\n`);
    expect(oneSentence(await run(['audit', 'verify'], { AGENTSEC_PROFILE: 'nope' }))).toBe(`agentsec: there is no profile "nope"; ${listed}\n`);
    expect(oneSentence(await run(['use', 'nope']))).toBe(`agentsec: there is no profile "nope"; ${listed}\n`);
  });
});

// In order: each test starts where the one before left the profile (who is logged in, with which token).
describe('agentsec login and commands on a profile', () => {
  test('login proves the password with SRP, never sends it, and caches the token per profile and user (0600, dirs 0700)', async () => {
    const from = cognito.requests.length;
    const result = await login(['--user', 'alice', '--json'], password('alice'));
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(json(result)).toMatchObject({ username: 'alice', token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/) });
    const sent = cognito.requests.slice(from);
    expect(sent.map((r) => r.operation)).toEqual(['InitiateAuth', 'RespondToAuthChallenge']);
    expect(JSON.parse(sent[0].body)).toMatchObject({ AuthFlow: 'USER_SRP_AUTH', ClientId: state.userPoolClientId, AuthParameters: { USERNAME: 'alice' } });
    expect(JSON.parse(sent[1].body)).toMatchObject({ ChallengeName: 'PASSWORD_VERIFIER' });
    for (const r of sent) expect(r.body).not.toContain(password('alice'));

    const cached = path.join(dir, 'tokens', 'hospital', 'alice.json');
    expect(modeOf(cached)).toBe(0o600);
    expect(modeOf(path.join(dir, 'tokens', 'hospital'))).toBe(0o700);
    expect(modeOf(path.join(dir, 'tokens'))).toBe(0o700);
    expect(JSON.parse(readFileSync(cached, 'utf8'))).toMatchObject({ username: 'alice', userPoolId: state.userPoolId });
    expect((await login(['--user', 'alice'], password('alice'))).stdout).toMatch(/^Logged in as alice to profile hospital until .+; token cached in .+\/tokens\/hospital\/alice\.json\.$/m);
  });

  test('a wrong password is refused by the password proof, in one sentence, and caches nothing', async () => {
    const refused = oneSentence(await login(['--user', 'carol'], `${password('carol')}x`));
    expect(refused).toBe('agentsec: login of carol to profile hospital failed: Incorrect username or password.\n');
    expect(existsSync(path.join(dir, 'tokens', 'hospital', 'carol.json'))).toBe(false);
    // No password given and no terminal to ask in: say how to give it.
    expect(oneSentence(await login(['--user', 'carol'], undefined))).toContain('no password for carol: pass --password, set AGENTSEC_PASSWORD');
  });

  test('--profile routes ask, status and audit to the profile’s API, from a directory with no local cloud', async () => {
    expect(existsSync(path.join(dir, 'local.json'))).toBe(false);
    const asked = await run(['ask', 'Ask the analyst to read_patient_record for patient P-1001.', '--level', 'SECRET', '--compartments', 'MEDICAL', '--wait', '--profile', 'hospital', '--user', 'alice']);
    expect(asked.stderr).toBe('');
    expect(asked.code).toBe(0);
    expect(asked.stdout).toContain('analyst ran read_patient_record');
    expect(asked.stdout).toContain('Result (SECRET/MEDICAL):');
    const commandId = /Command ([0-9a-f-]{36}) accepted from alice/.exec(asked.stdout)![1];
    // Without --user: whoever logged in to the profile last (alice).
    expect(json(await run(['status', commandId, '--json', '--profile', 'hospital']))).toMatchObject({ commandId, status: 'completed', resultLabel: 'SECRET/MEDICAL' });
    expect(json(await run(['audit', 'verify', '--json'], { AGENTSEC_PROFILE: 'hospital' }))).toMatchObject({ ok: true, firstBadSeq: null });
    // The same command on the local cloud finds none running here: the profile, not local.json, led it to the API.
    expect((await run(['status', commandId, '--profile', 'local'])).code).toBe(2);
    // And with the profile chosen by `agentsec use`, no flag is needed.
    expect((await run(['status', commandId])).stdout).toContain(`Command ${commandId}: completed (SECRET/MEDICAL).`);
  });

  test('approvals on a profile go as the approver who logged in, and a user who never logged in is told to', async () => {
    expect(oneSentence(await run(['approvals', '--profile', 'hospital']))).toBe(
      'agentsec: no approver is logged in to profile hospital; log in with `agentsec login --profile hospital --user <approver>`.\n',
    );
    expect((await login(['--user', 'carol'], password('carol'))).code).toBe(0);
    const listed = await run(['approvals', '--profile', 'hospital', '--json']);
    expect(listed.code).toBe(0);
    expect(Array.isArray(json(listed))).toBe(true);
    expect(oneSentence(await run(['status', '00000000-0000-4000-8000-000000000000', '--user', 'bob']))).toBe(
      'agentsec: bob is not logged in on profile hospital; log in with `agentsec login --profile hospital --user bob`.\n',
    );
  });

  test('a first login answers NEW_PASSWORD_REQUIRED with --new-password, then the authenticator code; without them, one sentence', async () => {
    expect(oneSentence(await login(['--user', 'dave'], DAVE_TEMPORARY))).toBe(
      'agentsec: Cognito asks dave to choose a new password on profile hospital: run `agentsec login --profile hospital --user dave` in a terminal, or pass --new-password.\n',
    );
    const chosen = 'Dave-Chose-This-1!';
    expect(oneSentence(await login(['--user', 'dave', '--new-password', chosen], DAVE_TEMPORARY))).toBe(
      'agentsec: Cognito asks dave for the code from the authenticator app on profile hospital: run `agentsec login --profile hospital --user dave` in a terminal, or pass --mfa-code.\n',
    );
    expect(cognito.users.get('dave')).toMatchObject({ password: chosen, status: 'CONFIRMED' });
    expect(oneSentence(await login(['--user', 'dave', '--mfa-code', '000000'], chosen))).toContain('CodeMismatchException: Invalid code received for user');
    const result = await login(['--user', 'dave', '--mfa-code', '246810', '--json'], chosen);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(json(result)).toMatchObject({ username: 'dave' });
    expect(oneSentence(await login(['--user', 'dave', '--mfa-code', '246810'], DAVE_TEMPORARY))).toContain('Incorrect username or password');
  });

  test('an expired token, or one the API refuses, asks to log in again in one sentence (exit 1)', async () => {
    const cached = path.join(dir, 'tokens', 'hospital', 'alice.json');
    const session = JSON.parse(readFileSync(cached, 'utf8')) as { token: string; expiresAt: string };
    writeFileSync(cached, JSON.stringify({ ...session, expiresAt: new Date(Date.now() - 1000).toISOString() }));
    expect(oneSentence(await run(['audit', 'verify', '--user', 'alice']))).toMatch(
      /^agentsec: alice's login expired at \S+ on profile hospital; log in with `agentsec login --profile hospital --user alice`\.\n$/,
    );
    const [header, payload] = session.token.split('.');
    writeFileSync(cached, JSON.stringify({ ...session, token: `${header}.${payload}.forged` }));
    expect(oneSentence(await run(['audit', 'verify', '--user', 'alice']))).toBe(
      "agentsec: alice's token was refused by the API on profile hospital; log in with `agentsec login --profile hospital --user alice`.\n",
    );
  });

  test('a profile whose API does not answer is a failure naming the profile (exit 1), not "start agentsec dev"', async () => {
    const file = writeOutputs('gone-outputs.json', { AgentSec: { ...outputsOf(state).AgentSec, ApiUrl: 'http://127.0.0.1:9/' } });
    expect((await run(['use', '--outputs', file, '--name', 'gone'])).code).toBe(0);
    const dirOfGone = path.join(dir, 'tokens', 'gone');
    expect((await login(['--user', 'alice', '--profile', 'gone'], password('alice'))).code).toBe(0);
    expect(existsSync(path.join(dirOfGone, 'alice.json'))).toBe(true);
    expect(oneSentence(await run(['status', '00000000-0000-4000-8000-000000000000']))).toMatch(/^agentsec: cannot reach the AgentSec API of profile gone at http:\/\/127\.0\.0\.1:9\/: /);
    expect((await run(['use', 'hospital'])).code).toBe(0);
  });
});

describe('agentsec users add: an administrator makes a user of the stack', () => {
  test('creates the user in the profile’s pool with the clearance as attributes and a temporary password to change', async () => {
    const pool = new CognitoIdentityProviderClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
    const username = `erin-${Math.random().toString(36).slice(2, 8)}`;
    const temporary = 'Erin-Temporary-Passw0rd!';
    const created = await run(['users', 'add', username, '--clearance', 'secret', '--compartments', 'MEDICAL,FINANCE', '--temporary-password', temporary, '--json']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(json(created)).toEqual({ username, clearance: 'SECRET/FINANCE+MEDICAL', userPoolId: state.userPoolId, temporaryPassword: temporary });
    const user = await pool.send(new AdminGetUserCommand({ UserPoolId: state.userPoolId, Username: username }));
    const attributes = Object.fromEntries((user.UserAttributes ?? []).map((a) => [a.Name, a.Value]));
    expect(attributes['custom:clearance']).toBe('SECRET');
    expect(attributes['custom:compartments']!.split(',').sort()).toEqual(['FINANCE', 'MEDICAL']);
    expect(user.UserStatus).toBe('FORCE_CHANGE_PASSWORD');
    const first = await pool.send(
      new InitiateAuthCommand({ ClientId: state.userPoolClientId, AuthFlow: AuthFlowType.USER_PASSWORD_AUTH, AuthParameters: { USERNAME: username, PASSWORD: temporary } }),
    );
    expect(first.ChallengeName).toBe('NEW_PASSWORD_REQUIRED');
    pool.destroy();

    expect(oneSentence(await run(['users', 'add', username, '--clearance', 'SECRET']))).toBe(`agentsec: ${username} already exists in the user pool of profile hospital.\n`);
    // A generated temporary password, printed once.
    const generated = await run(['users', 'add', `${username}-2`, '--clearance', 'UNCLASSIFIED']);
    expect(generated.code).toBe(0);
    expect(generated.stdout).toMatch(/^Temporary password \(give it to erin-\w+-2; it is shown once\): \S{30,}$/m);
  });

  test('a clearance the topology does not allow is refused before Cognito is called', async () => {
    expect(oneSentence(await run(['users', 'add', 'frank', '--clearance', 'COSMIC']))).toContain('--clearance must be one of UNCLASSIFIED, CONFIDENTIAL, SECRET, TOP_SECRET');
    expect(oneSentence(await run(['users', 'add', 'frank', '--clearance', 'SECRET', '--compartments', 'NUCLEAR']))).toContain('NUCLEAR is not a compartment of the topology');
    expect(oneSentence(await run(['users', 'add', 'bob', '--clearance', 'SECRET']))).toBe(
      'agentsec: the topology clears bob for CONFIDENTIAL only; the API would refuse a token claiming SECRET.\n',
    );
    expect(oneSentence(await run(['users', 'add', 'frank', '--clearance', 'SECRET', '--profile', 'local']))).toContain('users add makes users of a deployed stack');
  });
});

describe('the SRP client against an independent server', () => {
  test('it logs in whatever the random values (padding of A, B, S and u), and a wrong password never does', async () => {
    const mint = async () => ({ IdToken: fakeJwt(), AccessToken: fakeJwt(), ExpiresIn: 3600, TokenType: 'Bearer' });
    const server = new SrpCognito('us-east-1_Independent1', 'client-1', mint);
    server.users.set('erin', { password: 'Correct-Horse-Battery-9!', status: 'CONFIRMED' });
    const endpoint = await server.start();
    try {
      const props = { endpoint, userPoolId: server.userPoolId, userPoolClientId: 'client-1', username: 'erin' };
      for (let i = 0; i < 16; i++) await expect(loginWithSrp({ ...props, password: 'Correct-Horse-Battery-9!' })).resolves.toMatchObject({ token: expect.any(String) });
      await expect(loginWithSrp({ ...props, password: 'Correct-Horse-Battery-9?' })).rejects.toMatchObject({ code: 'NotAuthorizedException' });
    } finally {
      await server.stop();
    }
  });
});

function fakeJwt(): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
}
