import { Command, Option } from 'commander';
import { ATTACK_CLASSES, AttackClass } from './attempt';
import { formatReport } from './report';
import { runRedTeam } from './run';

/**
 * `npm run redteam [-- --json] [--quick] [--only protocol,ledger] [--endpoint http://localhost:4566]`: runs the
 * attack classes against the local cloud with compromised models, prints class × tries × verdicts and every
 * success, and exits 1 when any attack succeeded (2 when some attempt could not be judged).
 */
async function main(argv: string[]): Promise<number> {
  const program = new Command('redteam')
    .description('Attack the local cloud with compromised models and report what got through.')
    .option('--json', 'print one JSON object instead of the table')
    .option('--quick', 'a few attempts per class (the subset npm test runs)')
    .addOption(new Option('--only <classes>', `comma-separated classes (${ATTACK_CLASSES.join(', ')})`))
    .option('--endpoint <url>', 'use this running emulator instead of starting one (AGENTSEC_AWS_ENDPOINT)')
    .parse(argv);
  const opts = program.opts<{ json?: boolean; quick?: boolean; only?: string; endpoint?: string }>();
  const classes = opts.only?.split(',').map((c) => c.trim()) as AttackClass[] | undefined;
  const unknown = classes?.filter((c) => !ATTACK_CLASSES.includes(c));
  if (unknown?.length) throw new Error(`unknown attack classes: ${unknown.join(', ')}`);
  const report = await runRedTeam({
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(classes ? { classes } : {}),
    quick: opts.quick ?? false,
    log: (line) => process.stderr.write(`[redteam] ${line}\n`),
  });
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  return report.successes > 0 ? 1 : report.ok ? 0 : 2;
}

main(process.argv).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`redteam: ${err.stack ?? err.message}\n`);
    process.exit(2);
  },
);
