import { createHash, createHmac, getDiffieHellman, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The server side of Cognito's SRP login (USER_SRP_AUTH, PASSWORD_VERIFIER, NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA),
 * written here from the protocol's description, for what the emulator does not do: moto 5.2.1 answers USER_SRP_AUTH
 * with a random "B" and salt, accepts any password proof, and names the user by an id it then cannot look up, so no
 * real SRP client can log in to it. This one checks the proof for real, so a wrong password fails and the CLI's SRP
 * client is tested against an implementation it shares no code with: the group is Node's RFC 3526 3072-bit prime, the
 * key derivation Node's HKDF. When the proof holds it hands out real tokens from the emulator's user pool (`mint`), so
 * what the CLI caches works against the local cloud's API.
 */

/** Cognito's SRP group: the RFC 3526 3072-bit MODP prime, generator 2. */
const N = BigInt(`0x${getDiffieHellman('modp15').getPrime('hex')}`);
const g = 2n;

/** A user as the stand-in keeps it: the password it checks proofs against, and what Cognito would ask next. */
export interface SrpUser {
  password: string;
  /** FORCE_CHANGE_PASSWORD: an administrator set a temporary password; the first login must choose a new one. */
  status: 'CONFIRMED' | 'FORCE_CHANGE_PASSWORD';
  /** A code the user's authenticator app shows: when set, SOFTWARE_TOKEN_MFA follows the password. */
  totp?: string;
}

/** What Cognito answers a successful login with (from the emulator). */
export type AuthenticationResult = Record<string, unknown> & { IdToken: string };

export class SrpCognito {
  readonly users = new Map<string, SrpUser>();
  /** Every request body received, to check that no password ever crossed the wire. */
  readonly requests: Array<{ operation: string; body: string }> = [];
  private readonly logins = new Map<string, SrpLogin>();
  private readonly sessions = new Map<string, { username: string; next: 'NEW_PASSWORD_REQUIRED' | 'SOFTWARE_TOKEN_MFA' }>();
  private server?: Server;

  constructor(
    /** `<region>_<pool name>`: the pool name is part of what the password proof covers. */
    readonly userPoolId: string,
    readonly clientId: string,
    private readonly mint: (username: string) => Promise<AuthenticationResult>,
  ) {}

  /** Starts listening on a free port of 127.0.0.1; resolves with the endpoint URL. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private get poolName(): string {
    return this.userPoolId.split('_')[1];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const operation = String(req.headers['x-amz-target'] ?? '').replace('AWSCognitoIdentityProviderService.', '');
    this.requests.push({ operation, body });
    try {
      const input = JSON.parse(body) as Record<string, unknown>;
      if (input.ClientId !== this.clientId) throw new CognitoFault('ResourceNotFoundException', 'User pool client does not exist.');
      const output =
        operation === 'InitiateAuth'
          ? this.initiateAuth(input)
          : operation === 'RespondToAuthChallenge'
            ? await this.respond(input)
            : (() => {
                throw new CognitoFault('InvalidParameterException', `${operation} is not served here`);
              })();
      reply(res, 200, output);
    } catch (err) {
      const fault = err instanceof CognitoFault ? err : new CognitoFault('InternalErrorException', (err as Error).message);
      reply(res, 400, { __type: fault.type, message: fault.message });
    }
  }

  private initiateAuth(input: Record<string, unknown>): unknown {
    if (input.AuthFlow !== 'USER_SRP_AUTH') throw new CognitoFault('InvalidParameterException', `only USER_SRP_AUTH is served, not ${String(input.AuthFlow)}`);
    const params = input.AuthParameters as Record<string, string>;
    const username = params.USERNAME;
    const A = BigInt(`0x${params.SRP_A}`);
    if (A % N === 0n) throw new CognitoFault('InvalidParameterException', 'SRP_A mod N is 0');
    const user = this.users.get(username);
    if (!user) throw new CognitoFault('NotAuthorizedException', 'Incorrect username or password.');
    const salt = BigInt(`0x${randomBytes(16).toString('hex')}`);
    const b = BigInt(`0x${randomBytes(32).toString('hex')}`);
    const B = (k() * verifier(this.poolName, username, user.password, salt) + modPow(g, b, N)) % N;
    const secretBlock = randomBytes(64).toString('base64');
    this.logins.set(secretBlock, { username, A, b, B, salt });
    return {
      ChallengeName: 'PASSWORD_VERIFIER',
      ChallengeParameters: { SALT: salt.toString(16), SRP_B: B.toString(16), SECRET_BLOCK: secretBlock, USER_ID_FOR_SRP: username, USERNAME: username },
    };
  }

  private async respond(input: Record<string, unknown>): Promise<unknown> {
    const answers = input.ChallengeResponses as Record<string, string>;
    if (input.ChallengeName === 'PASSWORD_VERIFIER') {
      const secretBlock = answers.PASSWORD_CLAIM_SECRET_BLOCK;
      const login = this.logins.get(secretBlock);
      this.logins.delete(secretBlock);
      if (!login || answers.USERNAME !== login.username) throw new CognitoFault('NotAuthorizedException', 'Invalid session.');
      const user = this.users.get(login.username)!;
      const expected = passwordClaim(this.poolName, user.password, login, secretBlock, answers.TIMESTAMP);
      const given = Buffer.from(answers.PASSWORD_CLAIM_SIGNATURE ?? '', 'base64');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new CognitoFault('NotAuthorizedException', 'Incorrect username or password.');
      return this.next(login.username);
    }
    const session = this.sessions.get(String(input.Session));
    if (!session || session.next !== input.ChallengeName) throw new CognitoFault('NotAuthorizedException', 'Invalid session for the user.');
    this.sessions.delete(String(input.Session));
    const user = this.users.get(session.username)!;
    if (input.ChallengeName === 'NEW_PASSWORD_REQUIRED') {
      const chosen = answers.NEW_PASSWORD ?? '';
      if (chosen.length < 12 || chosen === user.password) throw new CognitoFault('InvalidPasswordException', 'Password does not conform to policy: Password not long enough');
      user.password = chosen;
      user.status = 'CONFIRMED';
      return this.next(session.username);
    }
    if (answers.SOFTWARE_TOKEN_MFA_CODE !== user.totp) throw new CognitoFault('CodeMismatchException', 'Invalid code received for user');
    return { AuthenticationResult: await this.mint(session.username), ChallengeParameters: {} };
  }

  /** After the password: a new one to choose, a code to give, or the tokens. */
  private async next(username: string): Promise<unknown> {
    const user = this.users.get(username)!;
    const next = user.status === 'FORCE_CHANGE_PASSWORD' ? 'NEW_PASSWORD_REQUIRED' : user.totp ? 'SOFTWARE_TOKEN_MFA' : undefined;
    if (!next) return { AuthenticationResult: await this.mint(username), ChallengeParameters: {} };
    const session = randomBytes(32).toString('base64');
    this.sessions.set(session, { username, next });
    // As Cognito sends them: the user's attributes and those still required, each a JSON string.
    const parameters = next === 'NEW_PASSWORD_REQUIRED' ? { USER_ID_FOR_SRP: username, requiredAttributes: '[]', userAttributes: '{"custom:clearance":"SECRET"}' } : {};
    return { ChallengeName: next, Session: session, ChallengeParameters: parameters };
  }
}

/** One login between InitiateAuth and PASSWORD_VERIFIER: the client's A, the server's secret b and public B, the salt. */
interface SrpLogin {
  username: string;
  A: bigint;
  b: bigint;
  B: bigint;
  salt: bigint;
}

class CognitoFault extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify(body));
}

/** A number as SRP hashes it: even-length hex with a leading zero byte when the high bit is set (never negative). */
function padHex(n: bigint): string {
  const hex = n.toString(16);
  if (hex.length % 2 === 1) return `0${hex}`;
  return '89abcdef'.includes(hex[0]) ? `00${hex}` : hex;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const hashHex = (hex: string) => BigInt(`0x${sha256(Buffer.from(hex, 'hex'))}`);
const k = () => hashHex(padHex(N) + padHex(g));

/** v = g^x, x = H(salt | H(poolName | userId | ":" | password)). */
function verifier(poolName: string, userId: string, password: string, salt: bigint): bigint {
  const x = hashHex(padHex(salt) + sha256(`${poolName}${userId}:${password}`));
  return modPow(g, x, N);
}

/** The HMAC the client must send: keyed by HKDF(S, u), over poolName | userId | secret block | timestamp. */
function passwordClaim(poolName: string, password: string, login: SrpLogin, secretBlock: string, timestamp: string | undefined): Buffer {
  const userId = login.username;
  const u = hashHex(padHex(login.A) + padHex(login.B));
  const v = verifier(poolName, userId, password, login.salt);
  const S = modPow((login.A * modPow(v, u, N)) % N, login.b, N);
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(padHex(S), 'hex'), Buffer.from(padHex(u), 'hex'), 'Caldera Derived Key', 16));
  const message = Buffer.concat([Buffer.from(poolName), Buffer.from(userId), Buffer.from(secretBlock, 'base64'), Buffer.from(timestamp ?? '')]);
  return createHmac('sha256', key).update(message).digest();
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}
