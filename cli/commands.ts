import { describeAllow, parseAllow } from './capabilities';
import type { ApprovalDecisionView } from '../functions/api/approvals';
import type { PendingApprovalView } from '../functions/api/approvals';
import { CommandRequestBody, CommandView, TERMINAL } from './api-client';
import { readFileSync, writeFileSync } from 'node:fs';
import { KeyObject, createPublicKey } from 'node:crypto';
import { ProofCheck, checkConsistency, checkInclusion, ledgerVerifierKey } from '../functions/kernel/ledger/log-tree';
import { CliError, EXIT } from './errors';
import { EntryView, describeEntry, short, table } from './output';
import { auditSince, ledgerHead, watchCommand } from './progress';
import { assertRunning, chooseStackUser, chooseUser, connect, logIn, logInToStack, resolveTarget, SessionToken, StackCredentials } from './session';
import { profileTokenFile, tokenFile } from '../localstack/state-files';
import { askNewSecret, askSecret, canAsk } from './prompt';
import { loadTopology } from '../functions/kernel/topology/topology';
import { formatTools, toolViews } from './tools';

/**
 * The commands that talk to a cloud through its HTTP API (DESIGN §10): the local cloud, or a deployed stack through
 * the profile `--profile` names (cli/profiles.ts). Each returns its exit code.
 */

export interface Common {
  json?: boolean;
  user?: string;
  /** The deployed stack's profile to talk to; default: AGENTSEC_PROFILE, then `agentsec use`, then the local cloud. */
  profile?: string;
}

const print = (text: string) => process.stdout.write(`${text}\n`);
const printJson = (value: unknown) => print(JSON.stringify(value, null, 2));
const list = (text: string | undefined) => (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export interface LoginOptions extends Common {
  password?: string;
  newPassword?: string;
  mfaCode?: string;
}

/**
 * `agentsec login`: on the local cloud with the seeded password (USER_PASSWORD_AUTH), as before; on a deployed stack
 * with the user's own password, proved with SRP, asked for at the terminal unless given.
 */
export async function loginCommand(opts: LoginOptions): Promise<number> {
  const target = resolveTarget(opts.profile);
  let session: SessionToken;
  let cached: string;
  if (target.kind === 'local') {
    if (opts.newPassword !== undefined || opts.mfaCode !== undefined) throw new CliError('--new-password and --mfa-code are for a deployed stack (--profile); the local cloud seeds its passwords');
    await assertRunning(target.state);
    const username = chooseUser(target.state, opts.user);
    session = await logIn(target.state, username, opts.password);
    cached = tokenFile(username);
  } else {
    const username = opts.user ?? lastUser(target.name);
    cached = profileTokenFile(target.name, username);
    session = await logInToStack(target.profile, username, await stackCredentials(username, opts));
  }
  if (opts.json) printJson({ username: session.username, token: session.token, expiresAt: session.expiresAt });
  else print(`Logged in as ${session.username}${target.kind === 'stack' ? ` to profile ${target.name}` : ''} until ${session.expiresAt}; token cached in ${cached}.`);
  return 0;
}

/** Whoever logged in to the profile last; a stack has no seeded user to default to. */
function lastUser(profile: string): string {
  try {
    return chooseStackUser(profile, undefined);
  } catch {
    throw new CliError(`name the user to log in as: agentsec login --profile ${profile} --user <user>`);
  }
}

/**
 * A stack user's password (`--password`, else `AGENTSEC_PASSWORD`, else asked without echo), and how to answer
 * Cognito's challenges: a new password on the first login (`--new-password`, else asked twice), an authenticator code
 * (`--mfa-code`, else asked). Without a terminal what is not given is an error that says how to give it.
 */
async function stackCredentials(username: string, opts: LoginOptions): Promise<StackCredentials> {
  const interactive = canAsk();
  const password =
    opts.password ??
    (process.env.AGENTSEC_PASSWORD || undefined) ??
    (interactive ? await askSecret(`Password for ${username}: `) : undefined);
  if (!password) throw new CliError(`no password for ${username}: pass --password, set AGENTSEC_PASSWORD, or run \`agentsec login\` in a terminal to be asked`);
  const given = (value: string | undefined, ask: () => Promise<string>) =>
    value !== undefined ? async () => value : interactive ? ask : undefined;
  const newPassword = given(opts.newPassword, () => {
    process.stderr.write(`Cognito asks ${username} to choose a new password.\n`);
    return askNewSecret('New password: ');
  });
  const mfaCode = given(opts.mfaCode, () => askSecret(`Code from ${username}'s authenticator app: `));
  return { password, ...(newPassword && { newPassword }), ...(mfaCode && { mfaCode }) };
}

export interface AskOptions extends Common {
  level: string;
  compartments?: string;
  allow?: string[];
  declassifyTo?: string;
  wait?: boolean;
  timeout?: string;
}

export async function askCommand(text: string, opts: AskOptions): Promise<number> {
  const { api, username, consoleUrl } = await connect({ user: opts.user, profile: opts.profile });
  const body: CommandRequestBody = {
    text,
    classification: { level: opts.level.toUpperCase(), compartments: list(opts.compartments).map((c) => c.toUpperCase()) },
    ...(opts.allow?.length ? { allow: parseAllow(opts.allow) } : {}),
    ...(opts.declassifyTo ? { declassifyTo: declassifyLabel(opts.declassifyTo) } : {}),
  };
  const ledgerFrom = opts.wait && !opts.json ? await ledgerHead(api) : undefined;
  const { commandId } = await api.submit(body);
  if (!opts.wait) {
    if (opts.json) printJson({ commandId });
    else print(`Command ${commandId} accepted from ${username}; follow it with \`agentsec status ${commandId}\`.`);
    return 0;
  }
  if (!opts.json) print(`Command ${commandId} accepted from ${username}.`);
  const refusedTools: EntryView[] = [];
  const view = await watchCommand(api, commandId, {
    ledgerFrom,
    timeoutMs: seconds(opts.timeout, 120) * 1000,
    ...(opts.json
      ? {}
      : {
          onStatus: (v: CommandView) => {
            print(`[${v.status}]`);
            for (const line of awaitingLines(v, consoleUrl)) print(line);
          },
          onEntry: (e: EntryView) => {
            print(`  · ${describeEntry(e)}`);
            if (isCapabilityRefusal(e)) refusedTools.push(e);
          },
        }),
  });
  if (opts.json) printJson(view);
  else printResult(view);
  // The agents may complete without what the user asked for: a tool the signer refused for want of a capability.
  for (const e of refusedTools) print(capabilityHint(e));
  return view.status === 'completed' && refusedTools.length === 0 ? 0 : EXIT.failed;
}

export async function statusCommand(commandId: string, opts: Common): Promise<number> {
  const { api, consoleUrl } = await connect({ user: opts.user, profile: opts.profile });
  const view = await api.command(commandId);
  if (opts.json) printJson(view);
  else {
    print(`Command ${view.commandId}: ${view.status}${view.label ? ` (${view.label})` : ''}${TERMINAL.has(view.status) ? '' : ', not finished yet'}.`);
    if (view.allow?.length) print(`Allowed: ${describeAllow(view.allow)}.`);
    for (const line of awaitingLines(view, consoleUrl)) print(line);
    printResult(view);
  }
  return 0;
}

/** `agentsec tools`: the tools, their owners, priorities, sinks and argument schemas, from the topology (offline). */
export async function toolsCommand(opts: Common): Promise<number> {
  const views = toolViews();
  print(opts.json ? JSON.stringify(views, null, 2) : formatTools(views));
  return 0;
}

export async function approvalsCommand(opts: Common): Promise<number> {
  const { api, username, consoleUrl } = await connect({ user: opts.user, role: 'approver', profile: opts.profile });
  if (!loadTopology().approvers.has(username)) {
    throw new CliError(`${username} is not an approver: only ${[...loadTopology().approvers].join(', ')} see and decide requests`);
  }
  const pending = (await api.approvals()) as unknown as PendingApprovalView[];
  if (opts.json) {
    printJson(pending);
    return 0;
  }
  if (pending.length === 0) {
    print(`Nothing waits for ${username}'s approval.`);
    return 0;
  }
  print(
    table(
      ['REQUEST', 'KIND', 'WHAT', 'REQUESTER', 'LABEL', 'APPROVALS', 'APPROVE WITH', 'COMMAND'],
      pending.map((p) => [
        p.requestId,
        p.kind,
        whatIsAsked(p),
        p.requester,
        p.label,
        `${p.approvals.length}/${p.approvalsNeeded}${p.approvals.length ? ` (${p.approvals.join(', ')})` : ''}`,
        p.passkey?.required ? 'passkey (console)' : 'cli or console',
        short(p.commandId),
      ]),
    ),
  );
  if (pending.some((p) => p.passkey?.required)) print(`Approvals marked "passkey" are signed in the console${consoleUrl ? ` at ${consoleUrl}` : ''}; reject works here too.`);
  return 0;
}

export async function decideCommand(requestId: string, decision: 'approve' | 'reject', opts: Common & { reason?: string }): Promise<number> {
  const { api, username, consoleUrl } = await connect({ user: opts.user, role: 'approver', profile: opts.profile });
  const target = await resolveRequest(api, requestId);
  // An approval the topology wants signed by the person cannot be made here (DESIGN §5): say where instead, before voting.
  if (decision === 'approve' && target.passkeyRequired) {
    const allowed = passkeyFreeVotes(loadTopology());
    throw new CliError(
      `request ${target.requestId} (${target.what}) needs an approval signed with ${username}'s passkey, which the CLI cannot make: ` +
        `approve it in the console${consoleUrl ? ` at ${consoleUrl}` : ''}. The topology lets the CLI approve only ${allowed}.`,
    );
  }
  const view = (await api.decide(target.requestId, decision, opts.reason, target.digest)) as unknown as ApprovalDecisionView;
  if (opts.json) {
    printJson(view);
    return 0;
  }
  const verb = decision === 'approve' ? 'approved' : 'rejected';
  const tally = `${view.approvals.length} of ${view.approvalsNeeded} approval(s)`;
  const outcome =
    view.status === 'signed'
      ? 'the signer signed the directive and sent it to the agent'
      : view.status === 'denied'
        ? 'the request is denied'
        : 'still waiting for approvers';
  print(`${username} ${view.recorded ? verb : `had already ${verb}`} request ${view.requestId}: ${tally}, ${outcome}.`);
  if (decision === 'approve' && target.passkeyRequired === false) print(`Voted without a passkey: the topology allows it for ${passkeyFreeVotes(loadTopology())}.`);
  return 0;
}

/** What the topology's `votesWithoutPasskey` lets be approved without a passkey, in words. */
function passkeyFreeVotes(topology: ReturnType<typeof loadTopology>): string {
  const { tools, declassify } = topology.votesWithoutPasskey;
  const what = [...[...tools].map((t) => `${t} calls`), ...(declassify ? ['declassifications'] : [])];
  return what.length ? what.join(' and ') : 'nothing';
}

/** What a request authorizes, as an approver reads it: the tool and its arguments, or the text to be released. */
export function whatIsAsked(p: PendingApprovalView): string {
  const shown = p.shown;
  if (shown?.kind === 'tool') return `${shown.tool} ${JSON.stringify(shown.args)}`;
  if (shown?.kind === 'declassify') {
    const text = shown.text === null ? '(text not shown: only its digest)' : JSON.stringify(shown.text);
    return `release ${shown.from} → ${shown.to} to ${p.target}${shown.rule ? ` by rule ${shown.rule}` : ' as free text'}: ${text}`;
  }
  return p.kind === 'tool' ? `${String(p.tool ?? '')} (arguments not shown)` : `to ${p.declassifyTo ?? '?'} for ${p.target}`;
}

/**
 * The pending request an id names (a full id, or a prefix as short as 4 characters naming exactly one), with the digest
 * of what the approver is shown, which the vote then binds (DESIGN §5).
 */
async function resolveRequest(
  api: Awaited<ReturnType<typeof connect>>['api'],
  id: string,
): Promise<{ requestId: string; digest?: string; passkeyRequired?: boolean; what?: string }> {
  if (!UUID.test(id) && !/^[0-9a-f-]{4,35}$/i.test(id)) throw new CliError(`${JSON.stringify(id)} is not a request id (a UUID, or the start of one)`);
  const pending = (await api.approvals()) as unknown as PendingApprovalView[];
  const matches = pending.filter((p) => p.requestId.startsWith(id.toLowerCase()));
  if (matches.length === 1) {
    const [p] = matches;
    return { requestId: p.requestId, ...(p.digest ? { digest: p.digest } : {}), passkeyRequired: p.passkey?.required === true, what: whatIsAsked(p) };
  }
  // A full id the list does not show: the API answers for it (404 unknown, 409 decided, 403 not yours to approve).
  if (UUID.test(id)) return { requestId: id };
  throw new CliError(matches.length === 0 ? `no pending request starts with ${id}` : `${id} names ${matches.length} pending requests; give more of the id`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function auditVerifyCommand(opts: Common): Promise<number> {
  const { api } = await connect({ user: opts.user, profile: opts.profile });
  const r = await api.verifyAudit();
  if (opts.json) {
    printJson({
      ok: r.ok,
      entries: r.entries,
      checkpoints: r.checkpoints,
      firstBadSeq: r.firstBadSeq,
      treeSize: r.treeSize,
      rootHash: r.rootHash,
      latestHeadAt: r.latestHeadAt,
    });
  } else if (r.ok) {
    print(`Ledger intact: ${r.entries} entries and ${r.checkpoints} checkpoints verify.`);
    print(r.treeSize ? `The latest signed tree head covers entries 1-${r.treeSize} (root ${r.rootHash}, signed ${r.latestHeadAt}).` : 'No signed tree head yet.');
  }
  else print(`Ledger TAMPERED: the first bad entry is seq ${r.firstBadSeq}${r.reason ? ` (${r.reason})` : ''}.`);
  return r.ok ? 0 : EXIT.failed;
}

export async function auditProveCommand(seqText: string, opts: Common & { out?: string }): Promise<number> {
  const seq = count(seqText, '<seq>');
  if (!seq) throw new CliError('<seq> must be a positive integer: the sequence number of a ledger entry');
  const { api } = await connect({ user: opts.user, profile: opts.profile });
  const proof = await api.prove(seq);
  const text = `${JSON.stringify(proof, null, 2)}\n`;
  if (opts.out) {
    writeFileSync(opts.out, text);
    print(`Inclusion proof of entry ${seq} under the signed tree head of ${proof.treeSize} entries written to ${opts.out}. Check it offline: agentsec audit check-proof ${opts.out} --key '<verifier key>'.`);
  } else process.stdout.write(text);
  return 0;
}

export async function auditProveConsistencyCommand(fromText: string, toText: string, opts: Common & { out?: string }): Promise<number> {
  const from = count(fromText, '<from>');
  const to = count(toText, '<to>');
  if (!from || !to || from > to) throw new CliError('<from> and <to> are the sizes of two signed tree heads, 0 < from <= to');
  const { api } = await connect({ user: opts.user, profile: opts.profile });
  const proof = await api.proveConsistency(from, to);
  const text = `${JSON.stringify(proof, null, 2)}\n`;
  if (opts.out) {
    writeFileSync(opts.out, text);
    print(`Consistency proof from the signed tree head of ${from} entries to that of ${to} written to ${opts.out}. Check it offline: agentsec audit check-consistency ${opts.out} --key '<verifier key>'.`);
  } else process.stdout.write(text);
  return 0;
}

/** Checks offline, with only the verifier key, that one signed tree head extends another (what a witness checks). */
export function auditCheckConsistencyCommand(file: string, opts: { key: string; json?: boolean }): number {
  const result = checkConsistency(readProof(file), opts.key);
  if (opts.json) printJson(result);
  else if (result.ok) print(`Consistent: ${result.origin} at ${result.toSize} entries extends its signed head at ${result.fromSize}.`);
  else print(`Consistency REFUSED: ${result.reason}.`);
  return result.ok ? 0 : EXIT.failed;
}

function readProof(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read the proof in ${file}: ${(err as Error).message}`);
  }
}

/** The ledger verifier key from the authority key's public key (base64 DER, as `aws kms get-public-key` prints it). */
export function auditVerifierKeyCommand(opts: { publicKey: string; chain?: string }): number {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(opts.publicKey, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new CliError('--public-key must be the base64 DER public key of the authority key (aws kms get-public-key --query PublicKey)');
  }
  if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new CliError('the authority key is an ECC_NIST_P256 key; this public key is not');
  print(ledgerVerifierKey(opts.chain ?? 'main', key));
  return 0;
}

/** Checks an inclusion proof offline: no local cloud, no AWS, only the verifier key (DESIGN §7). */
export function auditCheckProofCommand(file: string, opts: { key: string; json?: boolean }): number {
  const result: ProofCheck = checkInclusion(readProof(file), opts.key);
  if (opts.json) printJson(result);
  else if (result.ok) print(`Proof holds: entry ${result.seq} is in ${result.origin} as signed at ${result.treeSize} entries.`);
  else print(`Proof REFUSED: ${result.reason}.`);
  return result.ok ? 0 : EXIT.failed;
}

export async function auditCheckpointCommand(opts: Common): Promise<number> {
  const { api } = await connect({ user: opts.user, profile: opts.profile });
  const outcome = await api.checkpoint();
  if (opts.json) printJson(outcome);
  else if (outcome.status === 'written') {
    print(`Checkpoint signed over seq ${outcome.checkpoint.seq} (hash ${short(outcome.checkpoint.hash)}…), recorded as seq ${outcome.entrySeq} and anchored.`);
  } else print(`Nothing new to checkpoint: the ledger ends at seq ${outcome.head}${outcome.lastCheckpoint ? `, checkpointed at seq ${outcome.lastCheckpoint}` : ''}.`);
  return 0;
}

export async function auditLogCommand(opts: Common & { since?: string; limit?: string }): Promise<number> {
  const { api } = await connect({ user: opts.user, profile: opts.profile });
  const since = count(opts.since, '--since') ?? 0;
  const limit = count(opts.limit, '--limit');
  const entries = limit === undefined ? await auditSince(api, since) : ((await api.audit(since, limit)) as EntryView[]);
  if (opts.json) {
    // DESIGN §10: every entry shows these keys, null where the entry has none.
    printJson(entries.map((e) => ({ ...e, commandId: e.commandId ?? null, reason: e.reason ?? null, directiveId: e.directiveId ?? null })));
    return 0;
  }
  print(
    table(
      ['SEQ', 'TIME', 'COMMAND', 'ENTRY'],
      entries.map((e) => [String(e.seq), (e.at ?? '').slice(11, 19), short(e.commandId), `${e.type}: ${describeEntry(e)}`]),
    ),
  );
  return 0;
}

/** The signer refused a tool for want of a capability that fits (DESIGN §5). */
function isCapabilityRefusal(e: EntryView): boolean {
  return e.type === 'directive.denied' && e.detail?.kind === 'tool' && ['NOT_AUTHORIZED', 'UNTRUSTED_ARGUMENT', 'CAPABILITY_EXHAUSTED'].includes(String(e.reason));
}

/** What to do about such a refusal. */
function capabilityHint(e: EntryView): string {
  const tool = String(e.detail?.tool ?? 'the tool');
  const why =
    e.reason === 'UNTRUSTED_ARGUMENT'
      ? `a target argument came from no trusted source; name it: --allow '${tool}:<argument>=<value>'`
      : e.reason === 'CAPABILITY_EXHAUSTED'
        ? `the capability's uses were spent; allow more with --allow '${tool}:...,maxUses=<n>'`
        : `no capability allowed the call; allow it with --allow ${tool} (or --allow '${tool}:<argument>=<value>')`;
  return `Refused: ${tool} (${String(e.reason)}): ${why}.`;
}

/** Who must approve what a command waits on, and the exact command each of them runs. */
export function awaitingLines(view: CommandView, consoleUrl?: string): string[] {
  return (view.awaiting ?? []).flatMap((a) => {
    const what = a.kind === 'tool' ? a.tool ?? 'a tool' : 'a declassification';
    const who = a.approvers.length > 0 ? a.approvers.join(' or ') : 'no approver the topology lists (it cannot be approved)';
    const remaining = a.approvers.filter((u) => !a.approvals.includes(u));
    return [
      `  waiting for ${a.approvalsNeeded - a.approvals.length} more approval(s) of ${what} (request ${a.requestId}) from ${who}`,
      ...(a.passkeyRequired
        ? remaining.length > 0
          ? [`    ${remaining.join(' or ')} approve${remaining.length === 1 ? 's' : ''} it with a passkey in the console${consoleUrl ? ` at ${consoleUrl}` : ''} (Approvals)`]
          : []
        : remaining.map((u) => `    ${u} runs: agentsec approve ${a.requestId} --user ${u}`)),
    ];
  });
}

function printResult(view: CommandView): void {
  if (view.reason) print(`Reason: ${String(view.reason)}`);
  if (view.result !== undefined) print(`Result (${view.resultLabel ?? view.label ?? '?'}):\n${view.result}`);
  else if (view.resultWithheld) print(`Result withheld: it is labelled ${view.resultWithheld.label}, above your clearance (${view.resultWithheld.reason}).`);
}

function count(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,15}$/.test(text)) throw new CliError(`${flag} must be a non-negative integer`);
  return Number(text);
}

function seconds(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new CliError('--timeout must be a positive number of seconds');
  return n;
}

/**
 * `--declassify-to SECRET` or `--declassify-to SECRET/MEDICAL`: a bare level (the command's compartments kept) or a
 * whole label, as the API takes them.
 */
export function declassifyLabel(text: string): string | { level: string; compartments: string[] } {
  const [level, ...compartments] = text.toUpperCase().split('/').map((p) => p.trim());
  return compartments.length === 0 ? level : { level, compartments: compartments.filter((c) => c.length > 0) };
}
