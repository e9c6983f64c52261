import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { z } from 'zod';
import { currentProfileFile, PROFILE_NAME, profileFile, profilesDirectory, writePrivateFile } from '../localstack/state-files';
import { CliError } from './errors';
import type { StackOutputs } from './stack-outputs';

/**
 * Profiles: the deployed stacks the CLI can talk to, one file each in `.agentsec/profiles/` (mode 0600), written by
 * `agentsec use` from the stack's outputs. A command goes to `--profile NAME`, else `AGENTSEC_PROFILE`, else the profile
 * `agentsec use` chose last, else the local cloud (`local`, what `agentsec dev` runs, described by `local.json`).
 */

/** The name of the local cloud among the profiles. */
export const LOCAL = 'local';

/** The outputs a profile is made of, by the stack output that holds each (lib/agentsec-stack.ts). */
const FROM_OUTPUTS = {
  apiUrl: 'ApiUrl',
  region: 'Region',
  userPoolId: 'UserPoolId',
  userPoolClientId: 'UserPoolClientId',
} as const;

/** Outputs read when present: a stack deployed before the console had none. */
const OPTIONAL_OUTPUTS = { consoleUrl: 'ConsoleUrl' } as const;

export const profileSchema = z
  .object({
    name: z.string().regex(PROFILE_NAME),
    /** The CloudFormation stack the outputs are of. */
    stack: z.string().min(1),
    /** Base URL of the stack's HTTP API (output `ApiUrl`). */
    apiUrl: z.url({ protocol: /^https?$/ }),
    region: z.string().min(1),
    /** `<region>_<id>`: SRP logins prove the password for this pool. */
    userPoolId: z.string().regex(/^[\w-]+_[0-9a-zA-Z]+$/),
    userPoolClientId: z.string().min(1),
    /** The operator console, where approvals that need a passkey are made (output `ConsoleUrl`). */
    consoleUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Where the outputs were read: the outputs file, or CloudFormation. */
    source: z.string().min(1),
  })
  .strict();

export type Profile = z.output<typeof profileSchema>;

/**
 * A profile from a stack's outputs. A missing or malformed output is an error naming it, so a profile is never written
 * half-made.
 */
export function profileFromOutputs(name: string, found: StackOutputs): Profile {
  const missing = [...Object.values(FROM_OUTPUTS)].filter((key) => !found.outputs[key]);
  if (missing.length > 0) {
    const names = missing.length > 1 ? `${missing.slice(0, -1).join(', ')} or ${missing[missing.length - 1]}` : missing[0];
    throw new CliError(`${found.source} has no ${names} output for stack ${found.stack}, which every deployed AgentSec stack has`);
  }
  const fields = Object.fromEntries([
    ...Object.entries(FROM_OUTPUTS).map(([field, key]) => [field, found.outputs[key]]),
    ...Object.entries(OPTIONAL_OUTPUTS).flatMap(([field, key]) => (found.outputs[key] ? [[field, found.outputs[key]]] : [])),
  ]);
  const result = profileSchema.safeParse({ name, stack: found.stack, ...fields, source: found.source });
  if (!result.success) {
    const byField = { ...FROM_OUTPUTS, ...OPTIONAL_OUTPUTS } as Record<string, string>;
    const bad = result.error.issues.map((i) => byField[String(i.path[0])] ?? String(i.path[0]));
    throw new CliError(`${found.source}: the ${[...new Set(bad)].join(', ')} output of stack ${found.stack} is not valid`);
  }
  return result.data;
}

/** A name a profile may have; `local` is the local cloud's. */
export function checkProfileName(name: string): string {
  if (name === LOCAL) throw new CliError(`"${LOCAL}" is the local cloud; give the profile another name with --name`);
  if (!PROFILE_NAME.test(name)) throw new CliError(`"${name}" cannot name a profile: use lower-case letters, digits, ".", "_" and "-" (at most 64)`);
  return name;
}

/** The name a stack's profile gets unless one is given: the stack's name in lower case (`agentsec`), else `aws`. */
export function defaultProfileName(stack: string): string {
  const lower = stack.toLowerCase();
  return PROFILE_NAME.test(lower) && lower !== LOCAL ? lower : 'aws';
}

/** Writes `.agentsec/profiles/<name>.json`, mode 0600. */
export function writeProfile(profile: Profile): string {
  const file = profileFile(profile.name);
  writePrivateFile(file, `${JSON.stringify(profileSchema.parse(profile), null, 2)}\n`);
  return file;
}

/** The names of the profiles written so far, sorted; `local` is always there too. */
export function profileNames(): string[] {
  const dir = profilesDirectory();
  const names = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -'.json'.length))
        .filter((n) => PROFILE_NAME.test(n) && n !== LOCAL)
    : [];
  return [LOCAL, ...names.sort()];
}

/** A profile by name; an unknown one is an error listing those there are. */
export function readProfile(name: string): Profile {
  const known = profileNames();
  if (!PROFILE_NAME.test(name) || !known.includes(name) || name === LOCAL) {
    throw new CliError(`there is no profile "${name}"; the profiles are ${known.join(', ')} (make one with \`agentsec use --outputs FILE\` or \`agentsec use --stack NAME\`)`);
  }
  const file = profileFile(name);
  const result = profileSchema.safeParse(safeJson(file));
  if (!result.success || result.data.name !== name) throw new CliError(`${file} is not a valid profile; write it again with \`agentsec use\``);
  return result.data;
}

/** The profile a command goes to without `--profile`: `AGENTSEC_PROFILE`, else the one `agentsec use` chose, else local. */
export function defaultProfile(env: NodeJS.ProcessEnv = process.env): { name: string; why: string } {
  if (env.AGENTSEC_PROFILE) return { name: env.AGENTSEC_PROFILE, why: 'AGENTSEC_PROFILE' };
  const file = currentProfileFile();
  const chosen = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  return chosen ? { name: chosen, why: '`agentsec use`' } : { name: LOCAL, why: 'the default' };
}

/** Makes `name` the profile commands go to by default (`local`: the local cloud). */
export function chooseProfile(name: string): void {
  const file = currentProfileFile();
  if (name === LOCAL) rmSync(file, { force: true });
  else writePrivateFile(file, `${name}\n`);
}

function safeJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
