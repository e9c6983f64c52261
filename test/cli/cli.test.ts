import { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ApiClient } from '../../cli/api-client';
import { SoftwarePasskeys } from '../../cli/software-passkeys';
import { login } from '../../localstack/cognito';
import { LocalResources, readLocalState } from '../../localstack/local-state';
import { freePort } from '../../localstack/emulator';
import { GetPublicKeyCommand } from '@aws-sdk/client-kms';
import { kms, rewriteLedgerActor } from '../support/aws';
import { agentsec, json, startDev, stop } from './support';

/**
 * The `agentsec` command line (DESIGN §10), driven as a user drives it: `node bin/agentsec.js ...` in child
 * processes, against one `agentsec dev` started here with its own state directory.
 */

const stateDir = mkdtempSync(path.join(tmpdir(), 'agentsec-cli-'));
const run = (...args: string[]) => agentsec(stateDir, args);
let dev: { child: ChildProcess; output: () => string };
let state: LocalResources;

beforeAll(async () => {
  dev = await startDev(stateDir, `cli-${Math.random().toString(36).slice(2, 8)}`);
  state = readLocalState(path.join(stateDir, 'local.json'));
}, 120_000);

afterAll(async () => {
  if (dev) await stop(dev.child, 'SIGKILL');
  rmSync(stateDir, { recursive: true, force: true });
});

/** Follows a command through the API as alice, with the token the CLI cached. */
async function aliceApi(): Promise<ApiClient> {
  return apiAs('alice');
}

/** A user's API client, logged in through Cognito. */
async function apiAs(username: string): Promise<ApiClient> {
  const user = state.users.find((u) => u.username === username)!;
  const { token } = await login({ endpoint: state.endpoint, region: state.region, userPoolClientId: state.userPoolClientId, username, password: user.password });
  return new ApiClient(state.apiUrl, token);
}

const modeOf = (file: string) => statSync(file).mode & 0o777;

describe('agentsec CLI against a running local cloud', () => {
  test('dev writes local.json owner-only with the DESIGN §10 fields and the failed queues', () => {
    const file = path.join(stateDir, 'local.json');
    expect(modeOf(file)).toBe(0o600);
    expect(Object.keys(state).sort()).toEqual(
      ['apiUrl', 'authorityKeyArn', 'consoleUrl', 'dlqs', 'endpoint', 'failedQueues', 'keys', 'modelUrl', 'queues', 'region', 'tables', 'userPoolClientId', 'userPoolId', 'users'].sort(),
    );
    expect(state.users.map((u) => u.username)).toEqual(expect.arrayContaining(['alice', 'carol', 'dave']));
  });

  test('login --json prints {username, token, expiresAt} and caches the token readable by its owner only', async () => {
    const result = await run('login', '--json');
    expect(result.code).toBe(0);
    const out = json<Record<string, string>>(result);
    expect(Object.keys(out).sort()).toEqual(['expiresAt', 'token', 'username']);
    expect(out.username).toBe('alice');
    expect(out.token.split('.')).toHaveLength(3);
    expect(Date.parse(out.expiresAt)).toBeGreaterThan(Date.now());
    expect(modeOf(path.join(stateDir, 'tokens', 'alice.json'))).toBe(0o600);
  });

  test('ask --wait prints each status change and the agents’ progress, then the result; status shows it again', async () => {
    const result = await run('ask', 'Ask the analyst to read_patient_record for patient P-1001.', '--level', 'SECRET', '--compartments', 'MEDICAL', '--wait');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\[queued\]|\[running\]/);
    expect(result.stdout).toContain('analyst ran read_patient_record');
    expect(result.stdout).toContain('[completed]');
    expect(result.stdout).toContain('Result (SECRET/MEDICAL):');
    const commandId = /Command ([0-9a-f-]{36}) accepted/.exec(result.stdout)![1];

    const status = await run('status', commandId, '--json');
    expect(status.code).toBe(0);
    expect(json(status)).toMatchObject({ commandId, status: 'completed', resultLabel: 'SECRET/MEDICAL', result: expect.stringContaining('P-1001') });
  });

  test('ask --allow takes a capability bound to one recipient; the email goes there and status shows the capability', async () => {
    const result = await run(
      'ask',
      'Ask edge to send_email to family@example.com saying that visiting starts at 10:00.',
      '--level', 'UNCLASSIFIED',
      '--allow', 'send_email:to=family@example.com,maxUses=1',
      '--wait',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('edge ran send_email');
    const commandId = /Command ([0-9a-f-]{36}) accepted/.exec(result.stdout)![1];
    const status = await run('status', commandId);
    expect(status.stdout).toContain('Allowed: send_email(to=family@example.com) ×1.');
    expect(json(await run('status', commandId, '--json'))).toMatchObject({ allow: [{ tool: 'send_email', args: { to: 'family@example.com' }, maxUses: 1 }] });
  });

  test('ask --wait: a tool the signer refused for want of a capability is a failure with the --allow hint, not a success', async () => {
    const result = await run('ask', 'Ask edge to send_email to press@example.org saying hello.', '--level', 'UNCLASSIFIED', '--wait');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Refused: send_email (NOT_AUTHORIZED): no capability allowed the call; allow it with --allow send_email');
  });

  test('ask --allow with a malformed capability is refused with a sentence before anything is submitted', async () => {
    const result = await run('ask', 'hello', '--level', 'UNCLASSIFIED', '--allow', 'send_email:to');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^agentsec: --allow "send_email:to": "to" is not arg=value, arg=a\|b, arg~pattern or maxUses=N\.\n$/);
  });

  test('tools lists every tool with its owners, priority, sink and argument schema, target arguments marked', async () => {
    const listed = json<Array<{ name: string; priority: string; owners: string[]; sink?: string; targets: string[]; arguments: { properties: Record<string, unknown> } }>>(
      await run('tools', '--json'),
    );
    expect(listed.map((t) => t.name).sort()).toEqual(['lookup_public_info', 'prescribe', 'read_patient_record', 'schedule_appointment', 'send_email']);
    expect(listed.find((t) => t.name === 'send_email')).toMatchObject({ priority: 'high', owners: ['edge'], sink: 'UNCLASSIFIED', targets: ['to'] });
    expect(Object.keys(listed.find((t) => t.name === 'prescribe')!.arguments.properties)).toEqual(['patientId', 'drug', 'doseMg']);
    expect((await run('tools')).stdout).toContain('to*: email');
  });

  test('a user cannot ask above their clearance: bob is refused a SECRET command', async () => {
    const result = await run('ask', 'Ask the analyst to read_patient_record for patient P-1001.', '--level', 'SECRET', '--user', 'bob');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^agentsec: the API answered 403 NOT_AUTHORIZED: clearance CONFIDENTIAL does not dominate SECRET\.\n$/);
    const asJson = await run('ask', 'Ask the analyst to read_patient_record for patient P-1001.', '--level', 'SECRET', '--user', 'bob', '--json');
    expect(JSON.parse(asJson.stdout)).toEqual({ error: { message: expect.any(String), exitCode: 1, status: 403, reason: 'NOT_AUTHORIZED' } });
  });

  test('a critical tool needs approvals signed with passkeys: the CLI says where to approve instead, and a non-approver’s vote is refused', async () => {
    const asked = await run('ask', 'Prescribe {"patientId": "P-1001", "drug": "Metformin", "doseMg": 500} through the analyst.', '--level', 'SECRET', '--compartments', 'MEDICAL', '--allow', 'prescribe', '--json');
    expect(asked.code).toBe(0);
    const { commandId } = json<{ commandId: string }>(asked);
    const api = await aliceApi();
    await api.waitFor(commandId, { timeoutMs: 60_000, until: (v) => v.status === 'awaiting_approval' });

    const listed = await run('approvals', '--user', 'carol', '--json');
    expect(listed.code).toBe(0);
    const request = json<Array<{ requestId: string; commandId: string; tool?: string; approvalsNeeded: number; passkey: { required: boolean } }>>(listed).find((p) => p.commandId === commandId);
    expect(request).toMatchObject({ tool: 'prescribe', approvalsNeeded: 2, passkey: { required: true } });
    const listedText = await run('approvals', '--user', 'carol');
    expect(listedText.stdout).toContain('passkey (console)');
    expect(listedText.stdout).toContain(`signed in the console at ${state.consoleUrl}`);

    const byAlice = await run('approve', request!.requestId, '--user', 'alice');
    expect(byAlice.code).toBe(1);
    expect(byAlice.stderr).toContain('403');

    // The owner is told who must approve, and where.
    const waiting = await run('status', commandId);
    expect(waiting.stdout).toContain(`waiting for 2 more approval(s) of prescribe (request ${request!.requestId}) from carol or dave`);
    expect(waiting.stdout).toContain(`carol or dave approve it with a passkey in the console at ${state.consoleUrl} (Approvals)`);
    const notAnApprover = await run('approvals', '--user', 'alice');
    expect(notAnApprover.code).toBe(1);
    expect(notAnApprover.stderr).toMatch(/^agentsec: alice is not an approver: only carol, dave see and decide requests\.\n$/);

    // The CLI cannot sign with a passkey: it refuses before voting, and says where to approve.
    const byCarol = await run('approve', request!.requestId.slice(0, 8), '--user', 'carol');
    expect(byCarol.code).toBe(1);
    expect(byCarol.stderr).toContain(`needs an approval signed with carol's passkey, which the CLI cannot make: approve it in the console at ${state.consoleUrl}`);
    expect(byCarol.stderr).toContain('The topology lets the CLI approve only declassifications.');
    expect((await api.command(commandId)).awaiting?.[0]?.approvals).toEqual([]);

    // In the console's place, the approvers' passkeys sign what the approvals list offers.
    const passkeys = new SoftwarePasskeys(state.consoleUrl, (user) => apiAs(user));
    expect(await passkeys.approve('carol', request!.requestId)).toMatchObject({ status: 'pending', approvals: ['carol'] });
    expect(await passkeys.approve('dave', request!.requestId)).toMatchObject({ status: 'signed', approvals: ['carol', 'dave'] });
    const done = await api.waitFor(commandId, { timeoutMs: 60_000 });
    expect(done).toMatchObject({ status: 'completed', result: expect.stringContaining('Prescription RX-') });
    const status = await run('status', commandId);
    expect(status.stdout).toContain(`Command ${commandId}: completed (SECRET/MEDICAL).`);
  });

  test('a declassification the topology lets go without a passkey is approved from the CLI, by id prefix, and says so', async () => {
    const asked = await run('ask', 'Patient John Smith asked: edge, lookup_public_info about the car park level 2.', '--level', 'SECRET', '--compartments', 'MEDICAL', '--declassify-to', 'UNCLASSIFIED', '--json');
    expect(asked.code).toBe(0);
    const { commandId } = json<{ commandId: string }>(asked);
    const api = await aliceApi();
    await api.waitFor(commandId, { timeoutMs: 60_000, until: (v) => v.status === 'awaiting_approval' });
    const request = json<Array<{ requestId: string; commandId: string; kind: string; passkey: { required: boolean } }>>(await run('approvals', '--user', 'carol', '--json')).find((p) => p.commandId === commandId);
    expect(request).toMatchObject({ kind: 'declassify', passkey: { required: false } });

    const byCarol = await run('approve', request!.requestId.slice(0, 8), '--user', 'carol', '--reason', 'only a car park level');
    expect(byCarol.code).toBe(0);
    expect(byCarol.stdout).toContain(`carol approved request ${request!.requestId}: 1 of 2 approval(s), still waiting for approvers.`);
    expect(byCarol.stdout).toContain('Voted without a passkey: the topology allows it for declassifications.');
    const byDave = await run('approve', request!.requestId, '--user', 'dave', '--json');
    expect(byDave.code).toBe(0);
    expect(json(byDave)).toMatchObject({ requestId: request!.requestId, status: 'signed', approvals: ['carol', 'dave'] });
    expect(await api.waitFor(commandId, { timeoutMs: 60_000 })).toMatchObject({ status: 'completed' });
  });

  test('audit verify exits 0 and prints {ok, entries, checkpoints, firstBadSeq} on an intact ledger', async () => {
    const result = await run('audit', 'verify', '--json');
    expect(result.code).toBe(0);
    const out = json<Record<string, unknown>>(result);
    expect(Object.keys(out).sort()).toEqual(['checkpoints', 'entries', 'firstBadSeq', 'latestHeadAt', 'ok', 'rootHash', 'treeSize']);
    expect(out).toMatchObject({ ok: true, firstBadSeq: null });
    expect(out.entries).toBeGreaterThan(5);
  });

  test('audit checkpoint has the signer sign the ledger now, and audit verify counts the checkpoint; bob may not', async () => {
    const refused = await run('audit', 'checkpoint', '--user', 'bob');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^agentsec: the API answered 403/);
    const result = await run('audit', 'checkpoint', '--json');
    expect(result.code).toBe(0);
    // The sequencer has a head signed after every batch: a checkpoint asked for now signs what is new, if anything is.
    const outcome = json<{ status: string; head?: number; lastCheckpoint?: number }>(result);
    if (outcome.status === 'written') expect(outcome).toMatchObject({ checkpoint: { chain: 'main', keyId: state.authorityKeyArn }, entrySeq: expect.any(Number) });
    else expect(outcome).toEqual({ status: 'not_due', head: outcome.lastCheckpoint, lastCheckpoint: expect.any(Number) });
    const verified = await run('audit', 'verify', '--json');
    expect(verified.code).toBe(0);
    expect(json<{ ok: boolean; checkpoints: number }>(verified)).toMatchObject({ ok: true, checkpoints: expect.any(Number) });
    expect(json<{ checkpoints: number }>(verified).checkpoints).toBeGreaterThan(0);
    expect((await run('audit', 'verify')).stdout).toMatch(/^Ledger intact: \d+ entries and [1-9]\d* checkpoints verify\.$/m);
  });

  test('audit prove writes an inclusion proof that audit check-proof checks offline with the verifier key; a tampered proof exits 1', async () => {
    expect((await run('audit', 'checkpoint')).code).toBe(0);
    const file = path.join(stateDir, 'proof.json');
    const proved = await run('audit', 'prove', '1', '--out', file);
    expect(proved.code).toBe(0);
    const proof = JSON.parse(readFileSync(file, 'utf8'));
    // The verifier key pinned from an independent source: the authority key's public key, as KMS gives it.
    const publicKey = (await kms().send(new GetPublicKeyCommand({ KeyId: state.authorityKeyArn }))).PublicKey!;
    const pinned = await run('audit', 'verifier-key', '--public-key', Buffer.from(publicKey).toString('base64'));
    expect(pinned.code).toBe(0);
    expect(pinned.stdout.trim()).toBe(proof.verifierKey);
    const checked = await run('audit', 'check-proof', file, '--key', pinned.stdout.trim());
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(/^Proof holds: entry 1 is in agentsec\.ledger\/main as signed at \d+ entries\.$/m);
    writeFileSync(file, JSON.stringify({ ...proof, entry: { ...proof.entry, actor: 'carol' } }));
    const refused = await run('audit', 'check-proof', file, '--key', proof.verifierKey, '--json');
    expect(refused.code).toBe(1);
    expect(json(refused)).toMatchObject({ ok: false, reason: expect.stringMatching(/not in the signed tree/) });
    const unusable = await run('audit', 'check-proof', file, '--key', 'nonsense');
    expect(unusable.code).toBe(1);
    expect(unusable.stdout).toMatch(/^Proof REFUSED: a verifier key is <name>\+<8 hex digits>\+<base64 key>\.$/m);
  });

  test('audit prove-consistency between two signed heads checks offline with audit check-consistency; heads swapped exit 1', async () => {
    // One more ledgered decision (bob asks above his clearance), then one more signed head.
    expect((await run('ask', 'Read the chart.', '--level', 'SECRET', '--user', 'bob')).code).toBe(1);
    expect((await run('audit', 'checkpoint')).code).toBe(0);
    const log = json<Array<{ type: string; detail?: { treeSize?: number } }>>(await run('audit', 'log', '--json'));
    const sizes = log.filter((e) => e.type === 'checkpoint').map((e) => e.detail?.treeSize as number);
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    const file = path.join(stateDir, 'consistency.json');
    const proved = await run('audit', 'prove-consistency', String(sizes[0]), String(sizes[sizes.length - 1]), '--out', file);
    expect(proved.code).toBe(0);
    const proof = JSON.parse(readFileSync(file, 'utf8'));
    const checked = await run('audit', 'check-consistency', file, '--key', proof.verifierKey);
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(/^Consistent: agentsec\.ledger\/main at \d+ entries extends its signed head at \d+\.$/m);
    writeFileSync(file, JSON.stringify({ ...proof, from: proof.to, to: proof.from }));
    const refused = await run('audit', 'check-consistency', file, '--key', proof.verifierKey);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^Consistency REFUSED: /m);
  });

  test('audit log --json lists entries with seq, type, actor, commandId, reason and directiveId', async () => {
    const result = await run('audit', 'log', '--json');
    expect(result.code).toBe(0);
    const entries = json<Array<Record<string, unknown>>>(result);
    for (const e of entries) for (const key of ['seq', 'type', 'actor', 'commandId', 'reason', 'directiveId']) expect(e).toHaveProperty(key);
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    expect(entries.find((e) => e.type === 'tool.executed' && (e.detail as { tool?: string }).tool === 'prescribe')?.directiveId).toEqual(expect.any(String));
    expect(entries.find((e) => e.type === 'message.rejected')?.reason).toBe('NOT_AUTHORIZED'); // bob's refused command

    const page = await run('audit', 'log', '--json', '--since', '2', '--limit', '3');
    expect(json<Array<{ seq: number }>>(page).map((e) => e.seq)).toEqual([3, 4, 5]);
  });

  test('a tampered ledger entry makes audit verify exit 1 and name its seq', async () => {
    await rewriteLedgerActor(state.tables.ledger, 4);
    const result = await run('audit', 'verify');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/TAMPERED: the first bad entry is seq 4\b/);
    const asJson = await run('audit', 'verify', '--json');
    expect(asJson.code).toBe(1);
    expect(json(asJson)).toMatchObject({ ok: false, firstBadSeq: 4 });
  });
});

describe('agentsec CLI without a running local cloud', () => {
  test('commands other than dev and demo say in one sentence that dev is not running, and exit 2', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'agentsec-none-'));
    try {
      for (const args of [['status', '00000000-0000-4000-8000-000000000000'], ['login'], ['audit', 'verify', '--json']]) {
        const result = await agentsec(empty, args);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/^agentsec: the local cloud is not running \(.*\); start it with `agentsec dev`\.\n$/);
        // Under --json the failure is JSON on stdout as well; otherwise stdout stays empty.
        if (args.includes('--json')) expect(JSON.parse(result.stdout)).toEqual({ error: { message: expect.stringContaining('not running'), exitCode: 2 } });
        else expect(result.stdout).toBe('');
      }
      // A state file left by a cloud that has stopped: nothing answers at its API URL.
      const stale = JSON.parse(readFileSync(path.join(stateDir, 'local.json'), 'utf8')) as LocalResources;
      writeFileSync(path.join(empty, 'local.json'), JSON.stringify({ ...stale, apiUrl: `http://localhost:${await freePort()}` }));
      const result = await agentsec(empty, ['ask', 'hello', '--level', 'UNCLASSIFIED']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^agentsec: the local cloud is not running \(nothing answers at http:\/\/localhost:\d+\); start it with `agentsec dev`\.\n$/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('agentsec dev and demo', () => {
  test('dev shuts down cleanly on SIGTERM', async () => {
    const code = await stop(dev.child, 'SIGTERM');
    expect(code).toBe(0);
    expect(dev.output()).toContain('{"status":"stopped"}');
  });

  test('demo runs the hospital scenario through the HTTP API and exits 0', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'agentsec-demo-'));
    try {
      copyFileSync(path.join(stateDir, 'local.json'), path.join(scratch, 'local.json'));
      const result = await agentsec(scratch, ['demo', '--json'], 150_000);
      const out = json<{ ok: boolean; steps: Array<{ title: string; ok: boolean; note: string }> }>(result);
      expect(out.steps.filter((s) => !s.ok)).toEqual([]);
      expect(out.steps).toHaveLength(6);
      expect(out.ok).toBe(true);
      expect(result.code).toBe(0);
      // The demo runs its own cloud and leaves the state file of `agentsec dev` alone.
      expect(readFileSync(path.join(scratch, 'local.json'), 'utf8')).toBe(readFileSync(path.join(stateDir, 'local.json'), 'utf8'));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 180_000);
});
