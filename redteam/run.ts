import { runApprovals } from './approvals';
import { argumentAttempts, runArguments } from './arguments';
import { ATTACK_CLASSES, AttackClass, Outcome, outcome } from './attempt';
import { RedTeamCloud } from './cloud';
import { attemptDeliveries } from './delivery';
import { directiveDeliveries } from './directives';
import { leakedPrompts, markersIn } from './evidence';
import { runIdentity } from './identity';
import { injectionAttempts, runInjection } from './injection';
import { runLedger } from './ledger';
import { protocolDeliveries } from './protocol';
import { RedTeamReport, summarize } from './report';
import { prepareScenarios } from './scenarios';
import { runRuntime } from './runtime';
import { UtilityReport, measureUtility } from './utility';

export interface RedTeamOptions {
  /** An emulator already running; @default one is started */
  readonly endpoint?: string;
  /** Only these classes. @default all */
  readonly classes?: readonly AttackClass[];
  /** A few attempts per class (the `npm test` subset) instead of the whole corpus. @default false */
  readonly quick?: boolean;
  /** Progress lines. @default none */
  readonly log?: (line: string) => void;
  /** In a quick run, attempts to run whatever the sample holds (by name): the open findings the tests track. */
  readonly include?: (name: string) => boolean;
}

/** Every `step`-th item, about `n` of them, spread over the whole list. */
export function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const step = items.length / n;
  return Array.from({ length: n }, (_, i) => items[Math.floor(i * step)]);
}

/**
 * The red team (DESIGN §1): starts the local cloud with compromised models and runs every attack class against
 * it, the ledger first (while the chain is short and quiet), identity last (it rewrites a user's attributes and
 * puts them back). Ends with checks over everything the run produced: no marker reached a lower-trust model
 * endpoint or the ledger, and the ledger still verifies.
 */
export async function runRedTeam(options: RedTeamOptions = {}): Promise<RedTeamReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const wanted = new Set(options.classes ?? ATTACK_CLASSES);
  const quick = options.quick ?? false;
  const include = options.include ?? (() => false);
  /** All of `items`, or in a quick run about `n` of them plus those `include` names. */
  const pick = <T>(items: readonly T[], n: number, name: (item: T) => string): T[] =>
    quick ? [...new Set([...spread(items, n), ...items.filter((i) => include(name(i)))])] : [...items];
  const rt = await RedTeamCloud.start({ endpoint: options.endpoint, log });
  const outcomes: Outcome[] = [];
  let utility: UtilityReport | undefined;
  const phase = async (cls: AttackClass | AttackClass[], run: () => Promise<Outcome[]>) => {
    if (![cls].flat().some((c) => wanted.has(c))) return;
    const t = Date.now();
    const found = (await run()).filter((o) => wanted.has(o.class));
    outcomes.push(...found);
    log(`${[cls].flat().join(' + ')}: ${found.length} attempts in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  };
  try {
    log('preparing honest traffic to attack');
    const scenarios = await prepareScenarios(rt);
    await phase('ledger', () => runLedger(rt, (list) => pick(list, 8, (a) => a.name)));
    await phase(['protocol', 'directives'], async () => {
      const protocol = await protocolDeliveries(rt, scenarios);
      const directives = await directiveDeliveries(rt, scenarios);
      return attemptDeliveries(rt, [...pick(protocol, 12, (d) => d.name), ...pick(directives, 6, (d) => d.name)]);
    });
    await phase('approvals', () => runApprovals(rt, scenarios));
    await phase('injection', () => {
      const all = injectionAttempts();
      // Every channel, two attempts each, in a quick run.
      const channels = [...new Set(all.map((a) => a.channel))];
      return runInjection(rt, channels.flatMap((c) => pick(all.filter((a) => a.channel === c), 2, (a) => a.name)));
    });
    await phase('arguments', () => runArguments(rt, pick(argumentAttempts(), 6, (a) => a.name)));
    await phase('identity', () => runIdentity(rt, scenarios));
    // Every attempt of every compromised runtime: most are judged by the policy evaluator alone, so all run even in a quick run.
    await phase('runtime', () => runRuntime(rt));
    // Utility is measured after the attacks, on the cloud they ran against: a defence that refuses everything shows here.
    if (wanted.has('injection') || wanted.has('arguments')) utility = await measureUtility(rt);
    outcomes.push(...(await finalChecks(rt, outcomes)));
  } finally {
    await rt.stop();
  }
  return summarize(outcomes, Date.now() - started, utility);
}

/** What no attempt may have caused, over the whole run. */
async function finalChecks(rt: RedTeamCloud, soFar: readonly Outcome[]): Promise<Outcome[]> {
  const out: Outcome[] = [];
  await rt.quiesce();
  // Leaks the injection class traced to an attempt are already reported; any other is reported here.
  const leaks = leakedPrompts(rt);
  const reported = soFar.some((o) => o.verdict === 'success' && o.evidence.includes('endpoint'));
  if (leaks.length > 0 && !reported) {
    out.push(outcome('injection', 'egress over the whole run', 'success', `${leaks.length} prompts with patient markers reached a lower-trust endpoint`));
  }
  const entries = await rt.ledger();
  const inLedger = entries.filter((e) => markersIn(JSON.stringify(e)).length > 0);
  if (inLedger.length > 0) out.push(outcome('ledger', 'plaintext in the ledger', 'success', `entries ${inLedger.map((e) => e.seq).join(', ')} carry patient markers`));
  const verify = await (await rt.as('alice')).verifyAudit();
  if (!verify.ok) out.push(outcome('ledger', 'the ledger at the end of the run', 'error', `does not verify: firstBadSeq ${verify.firstBadSeq} (${verify.reason})`));
  return out;
}
