import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LEVELS, Level } from '../functions/kernel/labels';
import { TABLES } from '../functions/kernel/tables';
import { loadTopology } from '../functions/kernel/topology/topology';
import { awsClientConfig, createAwsClients } from '../functions/platform/aws-clients';
import { hospitalRecords } from '../localstack/fixtures/patient-records';
import { seedRecords } from '../localstack/provision-records';
import { stateDirectory } from '../localstack/state-files';
import { CliError } from './errors';

export interface RecordsSeedOptions {
  /** The outputs file of `cdk deploy --outputs-file`. @default `.agentsec/aws-outputs.json` */
  readonly outputs?: string;
  /** @default the stack's `Region` output */
  readonly region?: string;
  readonly json?: boolean;
}

/** The stack name of DESIGN §10, under which `cdk deploy --outputs-file` writes the outputs. */
const STACK_NAME = 'AgentSec';

/** What the seeding needs from the deployed stack's outputs. */
interface StackOutputs {
  readonly keyArns: Record<Level, string>;
  readonly table: string;
  readonly region?: string;
}

/**
 * `agentsec records seed`: seals the demo hospital's classified records into the deployed stack's records table
 * (DESIGN §3: classified data at rest, never in a function bundle), once for each agent cleared to read each. It runs
 * on the operator's machine with the operator's credentials, which must be those of the stack's record seeder role
 * (output `RecordSeederRoleArn`): only that role may create data keys as the record sealer and put records. Seeding
 * again replaces the records with the same ones. The local cloud seeds its own at provisioning.
 */
export async function recordsSeedCommand(opts: RecordsSeedOptions): Promise<number> {
  const outputs = readStackOutputs(opts.outputs ?? path.join(stateDirectory(), 'aws-outputs.json'));
  const { kms, doc, dynamo, sqs } = createAwsClients(awsClientConfig({ region: opts.region ?? outputs.region }));
  try {
    const seeded = await seedRecords({
      kms,
      doc,
      keyArns: outputs.keyArns,
      tableName: outputs.table,
      topology: loadTopology(),
      records: hospitalRecords(),
    });
    process.stdout.write(
      opts.json
        ? `${JSON.stringify({ table: outputs.table, ...seeded })}\n`
        : `sealed ${seeded.records} records into ${outputs.table}, ${seeded.copies} copies, one for each agent cleared to read each\n`,
    );
    return 0;
  } finally {
    for (const client of [kms, dynamo, sqs]) client.destroy();
  }
}

/** The level keys, the records table and the region from a `cdk deploy --outputs-file` file. */
function readStackOutputs(file: string): StackOutputs {
  if (!existsSync(file)) throw new CliError(`no stack outputs at ${file}: deploy with \`cdk deploy --outputs-file ${file}\`, or name the file with --outputs`);
  const all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string> | undefined>;
  const stack = all[STACK_NAME];
  if (!stack?.KeyArns || !stack.TableNames) throw new CliError(`${file} has no ${STACK_NAME} outputs KeyArns and TableNames`);
  const keyArns = JSON.parse(stack.KeyArns) as Record<Level, string>;
  const table = (JSON.parse(stack.TableNames) as Record<string, string>)[TABLES.records.env];
  if (LEVELS.some((l) => typeof keyArns[l] !== 'string') || !table) throw new CliError(`${file}: the ${STACK_NAME} outputs name no key for every level, or no records table`);
  return { keyArns, table, region: stack.Region };
}
