import {
  AdminCreateUserCommand,
  CognitoIdentityProviderClient,
  UsernameExistsException,
} from '@aws-sdk/client-cognito-identity-provider';
import { dominates, formatLabel, Label, label, Level, LEVELS } from '../functions/kernel/labels';
import { loadTopology } from '../functions/kernel/topology/topology';
import { awsClientConfig } from '../functions/platform/aws-clients';
import { clearanceAttributes } from '../localstack/cognito';
import { generatePassword } from '../localstack/provision-users';
import { CliError } from './errors';
import { defaultProfile, LOCAL, readProfile } from './profiles';

export interface UsersAddOptions {
  /** The clearance's level. */
  clearance: string;
  /** The clearance's compartments, comma-separated. @default none */
  compartments?: string;
  /** The temporary password the user logs in with once. @default a generated one */
  temporaryPassword?: string;
  profile?: string;
  json?: boolean;
}

/** The topology's user name rule. */
const USERNAME = /^[a-z][a-z0-9._-]{1,63}$/;

/**
 * `agentsec users add`: an administrator makes a user of a deployed stack, with their clearance (DESIGN §2: clearances
 * are assigned, never claimed), through Cognito AdminCreateUser with the administrator's AWS credentials. The user gets
 * a temporary password and chooses their own at their first `agentsec login` (NEW_PASSWORD_REQUIRED), so the
 * administrator never knows it. Everything is checked before Cognito is called.
 */
export async function usersAddCommand(username: string, opts: UsersAddOptions): Promise<number> {
  if (!USERNAME.test(username)) throw new CliError(`"${username}" is not a user name: lower-case letters, digits, ".", "_" and "-", starting with a letter`);
  const clearance = clearanceOf(username, opts);
  const name = opts.profile ?? defaultProfile().name;
  if (name === LOCAL) throw new CliError("users add makes users of a deployed stack (--profile); the local cloud seeds the topology's users");
  const profile = readProfile(name);
  const temporaryPassword = opts.temporaryPassword ?? generatePassword();
  const attributes = Object.entries(clearanceAttributes(clearance))
    .filter(([, value]) => value.length > 0) // no compartments is no attribute: Cognito keeps no empty values
    .map(([Name, Value]) => ({ Name, Value }));
  const cognito = new CognitoIdentityProviderClient(awsClientConfig({ region: profile.region }));
  try {
    await cognito.send(
      new AdminCreateUserCommand({
        UserPoolId: profile.userPoolId,
        Username: username,
        TemporaryPassword: temporaryPassword,
        MessageAction: 'SUPPRESS', // the administrator hands the temporary password over; Cognito sends no e-mail
        UserAttributes: attributes,
      }),
    );
  } catch (err) {
    if (err instanceof UsernameExistsException) throw new CliError(`${username} already exists in the user pool of profile ${profile.name}`);
    const e = err as { name?: string; message?: string };
    if (e.name === 'CredentialsProviderError') throw new CliError('no AWS credentials to create users with: set AWS_PROFILE to an administrator of the stack');
    throw new CliError(`Cognito refused to create ${username} in profile ${profile.name}: ${e.name ? `${e.name}: ` : ''}${(e.message ?? String(err)).split('\n')[0]}`);
  } finally {
    cognito.destroy();
  }
  if (opts.json) process.stdout.write(`${JSON.stringify({ username, clearance: formatLabel(clearance), userPoolId: profile.userPoolId, temporaryPassword }, null, 2)}\n`);
  else {
    process.stdout.write(
      `Created ${username}, cleared for ${formatLabel(clearance)}, in the user pool of profile ${profile.name}.\n` +
        `Temporary password (give it to ${username}; it is shown once): ${temporaryPassword}\n` +
        `${username} chooses their own password at the first login: agentsec login --profile ${profile.name} --user ${username}\n`,
    );
  }
  return 0;
}

/**
 * The clearance from the options, against the topology: a known level and compartments, and for a user the topology
 * lists no more than it grants (the API would refuse a token claiming more; see `clearanceFromClaims`).
 */
function clearanceOf(username: string, opts: UsersAddOptions): Label {
  const topology = loadTopology();
  const level = opts.clearance.toUpperCase();
  if (!(LEVELS as readonly string[]).includes(level)) throw new CliError(`--clearance must be one of ${LEVELS.join(', ')}`);
  const compartments = (opts.compartments ?? '').split(',').map((c) => c.trim().toUpperCase()).filter(Boolean);
  const unknown = compartments.filter((c) => !topology.compartments.has(c));
  if (unknown.length > 0) throw new CliError(`--compartments: ${unknown.join(', ')} ${unknown.length > 1 ? 'are not compartments' : 'is not a compartment'} of the topology (${[...topology.compartments].join(', ')})`);
  const clearance = label(level as Level, compartments);
  const listed = topology.users.find((u) => u.username === username);
  if (listed && !dominates(listed.clearance, clearance)) {
    throw new CliError(`the topology clears ${username} for ${formatLabel(listed.clearance)} only; the API would refuse a token claiming ${formatLabel(clearance)}`);
  }
  return clearance;
}
