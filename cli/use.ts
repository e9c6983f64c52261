import { existsSync } from 'node:fs';
import { readLocalState } from '../localstack/local-state';
import { localStateFile } from '../localstack/state-files';
import { CliError } from './errors';
import { table } from './output';
import { checkProfileName, chooseProfile, defaultProfile, defaultProfileName, LOCAL, Profile, profileFromOutputs, profileNames, readProfile, writeProfile } from './profiles';
import { outputsFromCloudFormation, outputsFromFile } from './stack-outputs';

/** `agentsec use` and `agentsec profiles`: choosing which cloud the commands talk to. */

export interface UseOptions {
  /** A `cdk deploy --outputs-file` file to read the stack's outputs from. */
  outputs?: string;
  /** The stack: read from CloudFormation, or picked out of the `--outputs` file. */
  stack?: string;
  /** Where the stack is (CloudFormation only). @default the AWS SDK's region */
  region?: string;
  /** The profile's name. @default the stack's name in lower case, else `aws` */
  name?: string;
  json?: boolean;
}

const print = (text: string) => process.stdout.write(`${text}\n`);

/**
 * `agentsec use local | NAME`: the profile commands go to from now on. `agentsec use --outputs FILE` or `--stack NAME`:
 * writes a profile from a deployed stack's outputs, then goes to it. Every option is checked before anything is read
 * or written.
 */
export async function useCommand(chosen: string | undefined, opts: UseOptions): Promise<number> {
  const reading = opts.outputs !== undefined || opts.stack !== undefined;
  if ((chosen === undefined) === !reading) {
    throw new CliError('say which cloud to use: `agentsec use local`, `agentsec use NAME`, `agentsec use --outputs FILE` or `agentsec use --stack NAME`');
  }
  if (chosen !== undefined) {
    if (opts.name !== undefined || opts.region !== undefined) throw new CliError('--name and --region are for making a profile from --outputs or --stack');
    const profile = chosen === LOCAL ? undefined : readProfile(chosen); // an unknown name fails here, listing the profiles
    chooseProfile(chosen);
    return report(profile, opts.json, 'chosen');
  }
  if (opts.region !== undefined && opts.outputs !== undefined) throw new CliError('--region is for reading --stack from CloudFormation; the outputs file names its region');
  if (opts.name !== undefined) checkProfileName(opts.name);
  if (opts.stack !== undefined && opts.stack.trim() === '') throw new CliError('--stack needs the name of a stack');
  const found = opts.outputs !== undefined ? outputsFromFile(opts.outputs, opts.stack) : await outputsFromCloudFormation(opts.stack!, opts.region);
  const profile = profileFromOutputs(opts.name ?? defaultProfileName(found.stack), found);
  writeProfile(profile);
  chooseProfile(profile.name);
  return report(profile, opts.json, 'written');
}

function report(profile: Profile | undefined, json: boolean | undefined, what: 'chosen' | 'written'): number {
  const override = process.env.AGENTSEC_PROFILE ? ` (AGENTSEC_PROFILE=${process.env.AGENTSEC_PROFILE} still overrides it in this shell)` : '';
  if (json) print(JSON.stringify(profile ? { ...profile, current: true } : { name: LOCAL, current: true }, null, 2));
  else if (!profile) print(`Commands now go to the local cloud (\`agentsec dev\`)${override}.`);
  else {
    print(
      `${what === 'written' ? `Profile ${profile.name} written from ${profile.source}` : `Using profile ${profile.name}`}: ` +
        `commands now go to stack ${profile.stack} at ${profile.apiUrl}${override}.`,
    );
    print(`Log in with \`agentsec login --user <name>\` (your Cognito password is asked for); back to the local cloud with \`agentsec use local\`.`);
  }
  return 0;
}

/** `agentsec profiles`: the local cloud and every profile, which one commands go to by default, and why. */
export async function profilesCommand(opts: { json?: boolean }): Promise<number> {
  const current = defaultProfile();
  const rows = profileNames().map((name) => {
    if (name === LOCAL) {
      const file = localStateFile();
      const apiUrl = existsSync(file) ? safeApiUrl(file) : undefined;
      return { name, current: name === current.name, stack: null, region: null, apiUrl: apiUrl ?? null };
    }
    const profile = safeProfile(name);
    return { name, current: name === current.name, stack: profile?.stack ?? null, region: profile?.region ?? null, apiUrl: profile?.apiUrl ?? null };
  });
  if (opts.json) {
    print(JSON.stringify(rows, null, 2));
    return 0;
  }
  print(
    table(
      ['', 'PROFILE', 'STACK', 'REGION', 'API'],
      rows.map((r) => [r.current ? '*' : '', r.name, r.stack ?? (r.name === LOCAL ? '(agentsec dev)' : '?'), r.region ?? '', r.apiUrl ?? (r.name === LOCAL ? 'not running' : 'invalid profile')]),
    ),
  );
  if (!rows.some((r) => r.current)) print(`${current.why} names "${current.name}", which is not a profile.`);
  else print(`Commands go to ${current.name} (${current.why}); \`--profile NAME\` sends one elsewhere.`);
  return 0;
}

function safeApiUrl(file: string): string | undefined {
  try {
    return readLocalState(file).apiUrl;
  } catch {
    return undefined;
  }
}

function safeProfile(name: string): Profile | undefined {
  try {
    return readProfile(name);
  } catch {
    return undefined;
  }
}
