import { randomBytes, randomInt } from 'node:crypto';
import {
  AdminCreateUserCommand,
  AdminDeleteUserAttributesCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  AdminUpdateUserAttributesCommand,
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  ListUserPoolClientsCommand,
  ListUserPoolsCommand,
  UsernameExistsException,
} from '@aws-sdk/client-cognito-identity-provider';
import type { UserConfig } from '../functions/kernel/topology/topology';
import type { LocalResources } from './local-state';
import { clearanceAttributes, CLEARANCE_CLAIM, COMPARTMENTS_CLAIM } from './cognito';

/**
 * The Cognito user pool of the local cloud: custom attributes `clearance` and `compartments`, an app client
 * for USER_PASSWORD_AUTH that may read but never write them (a user cannot raise their own clearance on
 * AWS; the emulator does not enforce this, see `clearanceFromClaims`), and the topology's users with
 * generated strong passwords and their clearances. Provisioning again finds pool and client by name.
 */

export interface UserPool {
  readonly userPoolId: string;
  readonly userPoolClientId: string;
}

/** A seeded user as `local.json` lists it. */
export type SeededUser = LocalResources['users'][number];

const PASSWORD_POLICY = {
  MinimumLength: 16,
  RequireUppercase: true,
  RequireLowercase: true,
  RequireNumbers: true,
  RequireSymbols: true,
  TemporaryPasswordValidityDays: 1,
};

export async function ensureUserPool(cognito: CognitoIdentityProviderClient, prefix: string): Promise<UserPool> {
  const poolName = `${prefix}-users`;
  let userPoolId = await findUserPool(cognito, poolName);
  if (!userPoolId) {
    const created = await cognito.send(
      new CreateUserPoolCommand({
        PoolName: poolName,
        Policies: { PasswordPolicy: PASSWORD_POLICY },
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        Schema: [
          { Name: 'clearance', AttributeDataType: 'String', Mutable: true, StringAttributeConstraints: { MinLength: '1', MaxLength: '32' } },
          { Name: 'compartments', AttributeDataType: 'String', Mutable: true, StringAttributeConstraints: { MinLength: '0', MaxLength: '2048' } },
        ],
      }),
    );
    userPoolId = created.UserPool!.Id!;
  }
  const clientName = `${prefix}-cli`;
  let userPoolClientId = await findClient(cognito, userPoolId, clientName);
  if (!userPoolClientId) {
    const created = await cognito.send(
      new CreateUserPoolClientCommand({
        UserPoolId: userPoolId,
        ClientName: clientName,
        GenerateSecret: false,
        ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
        PreventUserExistenceErrors: 'ENABLED',
        ReadAttributes: ['name', CLEARANCE_CLAIM, COMPARTMENTS_CLAIM],
        // DESIGN §2: clearance is set by administrators only; listing a harmless attribute keeps it off the writable set.
        WriteAttributes: ['name'],
        IdTokenValidity: 60,
        AccessTokenValidity: 60,
        TokenValidityUnits: { IdToken: 'minutes', AccessToken: 'minutes' },
      }),
    );
    userPoolClientId = created.UserPoolClient!.ClientId!;
  }
  return { userPoolId, userPoolClientId };
}

/**
 * Creates (or updates) each user with their clearance and sets a permanent password: the one given in
 * `passwords` (to keep a previous run's), else a fresh one.
 */
export async function ensureUsers(
  cognito: CognitoIdentityProviderClient,
  userPoolId: string,
  users: readonly UserConfig[],
  passwords: Readonly<Record<string, string>> = {},
): Promise<SeededUser[]> {
  return Promise.all(
    users.map(async (user) => {
      const password = passwords[user.username] ?? generatePassword();
      await upsertUser(cognito, userPoolId, user);
      await cognito.send(
        new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: user.username, Password: password, Permanent: true }),
      );
      return { username: user.username, password, clearance: { level: user.clearance.level, compartments: [...user.clearance.compartments] } };
    }),
  );
}

async function upsertUser(cognito: CognitoIdentityProviderClient, userPoolId: string, user: UserConfig): Promise<void> {
  const attrs = clearanceAttributes(user.clearance);
  // No compartments is stored as no attribute: Cognito keeps no empty values.
  const set = Object.entries(attrs)
    .filter(([, v]) => v.length > 0)
    .map(([Name, Value]) => ({ Name, Value }));
  try {
    await cognito.send(
      new AdminCreateUserCommand({ UserPoolId: userPoolId, Username: user.username, MessageAction: 'SUPPRESS', UserAttributes: set }),
    );
    return;
  } catch (err) {
    if (!(err instanceof UsernameExistsException)) throw err;
  }
  await cognito.send(new AdminUpdateUserAttributesCommand({ UserPoolId: userPoolId, Username: user.username, UserAttributes: set }));
  const current = await cognito.send(new AdminGetUserCommand({ UserPoolId: userPoolId, Username: user.username }));
  const hasCompartments = current.UserAttributes?.some((a) => a.Name === COMPARTMENTS_CLAIM) ?? false;
  // A clearance narrowed to no compartments must lose the old ones, not keep them.
  if (attrs[COMPARTMENTS_CLAIM].length === 0 && hasCompartments) {
    await cognito.send(
      new AdminDeleteUserAttributesCommand({ UserPoolId: userPoolId, Username: user.username, UserAttributeNames: [COMPARTMENTS_CLAIM] }),
    );
  }
}

/** 32 random base64url characters plus one of each class the password policy requires. */
export function generatePassword(): string {
  const pick = (chars: string) => chars[randomInt(chars.length)];
  return `${randomBytes(24).toString('base64url')}${pick('ABCDEFGHJKLMNPQRSTUVWXYZ')}${pick('abcdefghijkmnpqrstuvwxyz')}${pick('23456789')}${pick('!#%+=?@^~')}`;
}

async function findUserPool(cognito: CognitoIdentityProviderClient, name: string): Promise<string | undefined> {
  let NextToken: string | undefined;
  do {
    const page = await cognito.send(new ListUserPoolsCommand({ MaxResults: 60, NextToken }));
    const found = page.UserPools?.find((p) => p.Name === name);
    if (found) return found.Id;
    NextToken = page.NextToken;
  } while (NextToken);
  return undefined;
}

async function findClient(cognito: CognitoIdentityProviderClient, userPoolId: string, name: string): Promise<string | undefined> {
  let NextToken: string | undefined;
  do {
    const page = await cognito.send(new ListUserPoolClientsCommand({ UserPoolId: userPoolId, MaxResults: 60, NextToken }));
    const found = page.UserPoolClients?.find((c) => c.ClientName === name);
    if (found) return found.ClientId;
    NextToken = page.NextToken;
  } while (NextToken);
  return undefined;
}
