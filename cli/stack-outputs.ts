import { existsSync, readFileSync } from 'node:fs';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { awsClientConfig } from '../functions/platform/aws-clients';
import { CliError } from './errors';

/**
 * A deployed stack's outputs (`ApiUrl`, `UserPoolId`, ...), from where `cdk deploy --outputs-file` wrote them or from
 * CloudFormation itself.
 */

/** The stack `cdk deploy AgentSec` creates (bin/app.ts). */
export const DEFAULT_STACK = 'AgentSec';

export interface StackOutputs {
  /** The stack's name. */
  readonly stack: string;
  /** Output value by output key. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Where they came from, for messages: the file, or the stack and region. */
  readonly source: string;
}

/**
 * The outputs of one stack in a `cdk deploy --outputs-file` file (`{"AgentSec": {"ApiUrl": ...}}`): the stack named, else
 * `AgentSec`, else the only stack the file holds.
 */
export function outputsFromFile(file: string, stack?: string): StackOutputs {
  if (!existsSync(file)) throw new CliError(`no stack outputs at ${file}: deploy with \`cdk deploy ${DEFAULT_STACK} --outputs-file ${file}\``);
  let all: unknown;
  try {
    all = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`${file} is not the JSON \`cdk deploy --outputs-file\` writes: ${(err as Error).message}`);
  }
  if (typeof all !== 'object' || all === null || Array.isArray(all)) throw new CliError(`${file} is not the JSON \`cdk deploy --outputs-file\` writes: it holds no stacks`);
  const stacks = Object.keys(all);
  const name = stack ?? (stacks.includes(DEFAULT_STACK) ? DEFAULT_STACK : stacks.length === 1 ? stacks[0] : undefined);
  if (name === undefined) {
    throw new CliError(`${file} holds the outputs of ${stacks.length ? `stacks ${stacks.join(', ')}` : 'no stack'}; name the one to use with --stack`);
  }
  const outputs = (all as Record<string, unknown>)[name];
  if (typeof outputs !== 'object' || outputs === null) throw new CliError(`${file} has no outputs of stack ${name}${stacks.length ? ` (it has ${stacks.join(', ')})` : ''}`);
  const values = Object.fromEntries(Object.entries(outputs).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return { stack: name, outputs: values, source: file };
}

/** The outputs of a deployed stack, read from CloudFormation (DescribeStacks) with the caller's AWS credentials. */
export async function outputsFromCloudFormation(stack: string, region?: string): Promise<StackOutputs> {
  const config = awsClientConfig({ region });
  const cloudFormation = new CloudFormationClient(config);
  const where = `stack ${stack} in ${config.region}`;
  try {
    const out = await cloudFormation.send(new DescribeStacksCommand({ StackName: stack }));
    const found = out.Stacks?.[0];
    if (!found) throw new CliError(`CloudFormation has no ${where}`);
    const outputs = Object.fromEntries((found.Outputs ?? []).filter((o) => o.OutputKey && o.OutputValue !== undefined).map((o) => [o.OutputKey!, o.OutputValue!]));
    return { stack: found.StackName ?? stack, outputs, source: `CloudFormation ${where}` };
  } catch (err) {
    if (err instanceof CliError) throw err;
    const e = err as { name?: string; message?: string };
    // DescribeStacks answers an unknown stack with a ValidationError "Stack with id X does not exist".
    if (e.name === 'ValidationError' && /does not exist/.test(e.message ?? '')) throw new CliError(`CloudFormation has no ${where}; name the region with --region`);
    if (e.name === 'CredentialsProviderError') throw new CliError(`no AWS credentials to read ${where} with: set AWS_PROFILE, or use --outputs with the file \`cdk deploy --outputs-file\` wrote`);
    throw new CliError(`cannot read ${where} from CloudFormation: ${(e.message ?? String(err)).split('\n')[0]}`);
  } finally {
    cloudFormation.destroy();
  }
}
