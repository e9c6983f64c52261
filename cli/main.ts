import { Command } from 'commander';
import { LEVELS } from '../functions/kernel/labels';
import {
  approvalsCommand,
  toolsCommand,
  askCommand,
  auditCheckProofCommand,
  auditCheckpointCommand,
  auditCheckConsistencyCommand,
  auditProveCommand,
  auditProveConsistencyCommand,
  auditVerifierKeyCommand,
  auditLogCommand,
  auditVerifyCommand,
  decideCommand,
  loginCommand,
  statusCommand,
} from './commands';
import { devCommand } from './dev';
import { profilesCommand, useCommand } from './use';
import { usersAddCommand } from './users';
import { describeFailure } from './errors';

/**
 * `agentsec`: the command line of the local cloud and of deployed stacks (DESIGN §10). `dev` runs the cloud, `demo`
 * runs the hospital scenario on a fresh one, `use` chooses a deployed stack's profile; every other command talks to
 * the chosen cloud through its HTTP API as a user.
 */

// The SDK's notice about its future Node.js floor is noise on every command; package.json states the engine.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

type Action = (...args: never[]) => Promise<number>;

/** Runs an action: its exit code on success; on failure one sentence on stderr and a non-zero code, never a stack. */
function run<A extends Action>(action: A) {
  return async (...args: Parameters<A>): Promise<void> => {
    let code: number;
    try {
      code = await action(...args);
    } catch (err) {
      const failure = describeFailure(err);
      process.stderr.write(`agentsec: ${failure.message.replace(/\.?$/, '.')}\n`);
      // Under --json the failure is JSON on stdout too, for whatever reads it.
      if ((args as unknown[]).some((a) => typeof a === 'object' && a !== null && (a as { json?: unknown }).json === true)) {
        process.stdout.write(`${JSON.stringify({ error: failure })}\n`);
      }
      code = failure.exitCode;
    }
    process.exit(code);
  };
}

const json = (cmd: Command) => cmd.option('--json', 'print JSON');
const onProfile = (cmd: Command) =>
  cmd.option('--profile <name>', 'the deployed stack to talk to (default: $AGENTSEC_PROFILE, else the one `agentsec use` chose, else the local cloud)');
const asUser = (cmd: Command, who = 'the first seeded user') =>
  onProfile(cmd.option('--user <name>', `act as this user (default: ${who}; on a profile, whoever logged in last)`));

export function program(): Command {
  const cli = new Command('agentsec')
    .description('AgentSec on one machine: a team of LLM agents under labels, signed directives and a tamper-evident ledger.')
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions();

  json(cli.command('dev').description('start the local cloud and keep it running until Ctrl-C'))
    .option('--prefix <prefix>', 'resource name prefix', 'agentsec')
    .option('--compromised', 'run every agent model in compromised mode (it obeys injections)')
    .action(run((opts: { prefix?: string; compromised?: boolean; json?: boolean }) => devCommand(opts)));

  json(asUser(cli.command('login').description('log in through Cognito and cache the identity token')))
    .option('--password <password>', 'password (default: the seeded one on the local cloud; on a profile $AGENTSEC_PASSWORD, else asked without echo)')
    .option('--new-password <password>', 'on a profile: the new password when Cognito asks for one (first login); else asked')
    .option('--mfa-code <code>', "on a profile: the code from the user's authenticator app, when Cognito asks; else asked")
    .action(run((opts: Parameters<typeof loginCommand>[0]) => loginCommand(opts)));

  json(cli.command('use').description('choose the cloud commands go to: local, a profile, or a deployed stack read from its outputs').argument('[profile]', 'local, or the name of a profile'))
    .option('--outputs <file>', 'make a profile from the outputs `cdk deploy --outputs-file` wrote')
    .option('--stack <name>', 'make a profile from this stack: its outputs from CloudFormation, or its entry in --outputs')
    .option('--region <region>', "the stack's region, for CloudFormation (default: the AWS SDK's)")
    .option('--name <name>', "the profile's name (default: the stack's name in lower case)")
    .action(run((profile: string | undefined, opts: Parameters<typeof useCommand>[1]) => useCommand(profile, opts)));

  json(cli.command('profiles').description('list the profiles and the one commands go to'))
    .action(run((opts: Parameters<typeof profilesCommand>[0]) => profilesCommand(opts)));

  const users = cli.command('users').description("a deployed stack's users (with your AWS credentials, as its administrator)");
  json(onProfile(users.command('add').description('create a user with a clearance and a temporary password; they choose their own at the first login').argument('<username>')))
    .requiredOption('--clearance <level>', `the clearance's level: ${LEVELS.join(', ')}`)
    .option('--compartments <list>', "the clearance's compartments, comma-separated (e.g. MEDICAL,FINANCE)")
    .option('--temporary-password <password>', 'the password for the first login (default: a generated one, printed once)')
    .action(run((username: string, opts: Parameters<typeof usersAddCommand>[1]) => usersAddCommand(username, opts)));

  json(asUser(cli.command('ask').description('send a command to the agents').argument('<text>', 'what to ask')))
    .requiredOption('--level <level>', `classification level: ${LEVELS.join(', ')}`)
    .option('--compartments <list>', 'compartments, comma-separated (e.g. MEDICAL)')
    .option(
      '--allow <capability>',
      'a high-priority tool the agents may use: names (send_email,prescribe), or one capability (send_email:to=a@x.org, prescribe:patientId=P-1003,maxUses=1, or JSON); repeatable',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--declassify-to <label>', 'pre-authorize declassification down to this label: SECRET (compartments kept) or SECRET/MEDICAL')
    .option('--wait', 'follow the command until it ends and print the result')
    .option('--timeout <seconds>', 'how long --wait waits', '120')
    .action(run((text: string, opts: Parameters<typeof askCommand>[1]) => askCommand(text, opts)));

  json(asUser(cli.command('status').description("show a command's status and result").argument('<commandId>')))
    .action(run((id: string, opts: Parameters<typeof statusCommand>[1]) => statusCommand(id, opts)));

  json(cli.command('tools').description('list the tools: owners, priorities, approvals, sinks and argument schemas (offline)'))
    .action(run((opts: Parameters<typeof toolsCommand>[0]) => toolsCommand(opts)));

  json(asUser(cli.command('approvals').description('list requests waiting for approval'), 'the first approver'))
    .action(run((opts: Parameters<typeof approvalsCommand>[0]) => approvalsCommand(opts)));

  for (const decision of ['approve', 'reject'] as const) {
    json(asUser(cli.command(decision).description(`${decision} a pending request`).argument('<requestId>'), 'the first approver'))
      .option('--reason <text>', 'why (only its digest is kept)')
      .action(run((id: string, opts: Parameters<typeof decideCommand>[2]) => decideCommand(id, decision, opts)));
  }

  const audit = cli.command('audit').description('the tamper-evident ledger');
  json(asUser(audit.command('verify').description('recompute the hash chain, checkpoint signatures and anchor; exit 1 when tampered with')))
    .action(run((opts: Parameters<typeof auditVerifyCommand>[0]) => auditVerifyCommand(opts)));
  asUser(audit.command('prove').description("print an entry's inclusion proof under the latest signed tree head covering it").argument('<seq>'))
    .option('--out <file>', 'write the proof to this file')
    .action(run((seq: string, opts: Parameters<typeof auditProveCommand>[1]) => auditProveCommand(seq, opts)));
  asUser(audit.command('prove-consistency').description('print the proof that the signed tree head of <to> entries extends that of <from>').argument('<from>').argument('<to>'))
    .option('--out <file>', 'write the proof to this file')
    .action(run((from: string, to: string, opts: Parameters<typeof auditProveConsistencyCommand>[2]) => auditProveConsistencyCommand(from, to, opts)));
  json(audit.command('check-consistency').description('check a consistency proof between two signed tree heads offline, with only the verifier key').argument('<file>'))
    .requiredOption('--key <vkey>', 'the ledger verifier key (agentsec.ledger/<chain>+<key id>+<key>)')
    .action(run(async (file: string, opts: Parameters<typeof auditCheckConsistencyCommand>[1]) => auditCheckConsistencyCommand(file, opts)));
  audit.command('verifier-key').description("the ledger's verifier key, from the authority key's public key (offline)")
    .requiredOption('--public-key <base64>', 'the DER public key, as `aws kms get-public-key --query PublicKey --output text` prints it')
    .option('--chain <name>', 'the ledger chain', 'main')
    .action(run(async (opts: Parameters<typeof auditVerifierKeyCommand>[0]) => auditVerifierKeyCommand(opts)));
  json(audit.command('check-proof').description('check an inclusion proof offline, with only the verifier key').argument('<file>'))
    .requiredOption('--key <vkey>', 'the ledger verifier key (agentsec.ledger/<chain>+<key id>+<key>)')
    .action(run(async (file: string, opts: Parameters<typeof auditCheckProofCommand>[1]) => auditCheckProofCommand(file, opts)));
  json(asUser(audit.command('checkpoint').description('have the signer sign a checkpoint of the ledger now')))
    .action(run((opts: Parameters<typeof auditCheckpointCommand>[0]) => auditCheckpointCommand(opts)));
  json(asUser(audit.command('log').description('list ledger entries')))
    .option('--since <seq>', 'only entries after this sequence number')
    .option('--limit <n>', 'at most this many entries')
    .action(run((opts: Parameters<typeof auditLogCommand>[0]) => auditLogCommand(opts)));

  const records = cli.command('records').description('the classified records tools read, sealed at rest in the records table');
  json(records.command('seed').description("seal the hospital's records into the deployed stack's records table, as its record seeder role"))
    .option('--outputs <file>', 'stack outputs written by `cdk deploy --outputs-file` (default: .agentsec/aws-outputs.json)')
    .option('--region <region>', "AWS region (default: the stack's Region output)")
    .action(
      run((opts: { outputs?: string; region?: string; json?: boolean }) => {
        // Loaded on demand: it brings the Encryption SDK and the seed data.
        const { recordsSeedCommand } = require('./records') as typeof import('./records');
        return recordsSeedCommand(opts);
      }),
    );

  json(cli.command('demo').description('run the hospital scenario on a fresh local cloud'))
    .option('--verbose', 'show every ledger entry of each step')
    .action(
      run((opts: { json?: boolean; verbose?: boolean }) => {
        // Loaded on demand: it brings the whole local cloud.
        const { demoCommand } = require('./demo') as typeof import('./demo');
        return demoCommand(opts);
      }),
    );
  return cli;
}

/** Entry point of `bin/agentsec.js`. */
export function main(argv: readonly string[] = process.argv): void {
  program()
    .parseAsync([...argv])
    .catch((err: unknown) => {
      process.stderr.write(`agentsec: ${describeFailure(err).message}\n`);
      process.exit(1);
    });
}
