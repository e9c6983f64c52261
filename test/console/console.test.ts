import { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AdminUpdateUserAttributesCommand, CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { Browser } from 'playwright-core';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { login } from '../../localstack/cognito';
import { LocalResources, readLocalState } from '../../localstack/local-state';
import { rewriteLedgerActor } from '../support/aws';
import { startDev, stop } from '../cli/support';
import { ConsoleTab, launchChromium } from './support';

/**
 * The operator console in a real browser (Chromium, headless) against a real local cloud (`agentsec dev`): people sign
 * in, submit commands and follow them, register passkeys with Chromium's virtual authenticator and approve with them,
 * and read and verify the audit log. The refusals the API makes (self-approval, approving above one's clearance) are
 * shown to the person, and nothing of one user is left in the tab after they sign out.
 */

/** The prescription the demo asks for (cli/demo.ts): a critical tool, two approvers. */
const PRESCRIPTION = 'Prescribe {"patientId": "P-1001", "drug": "Metformin", "doseMg": 500} through the analyst.';

const stateDir = mkdtempSync(path.join(tmpdir(), 'agentsec-console-'));
let dev: { child: ChildProcess; output: () => string } | undefined;
let state: LocalResources;
let browser: Browser;
/** Each person's tab, signed in. */
const tabs = new Map<string, ConsoleTab>();
/** Every tab opened, for the check that no page had a script error or a policy violation. */
const opened: ConsoleTab[] = [];

const passwordOf = (username: string) => state.users.find((u) => u.username === username)!.password;

async function newTab(): Promise<ConsoleTab> {
  const tab = await ConsoleTab.open(browser, state.consoleUrl);
  opened.push(tab);
  return tab;
}

/** `username` signed in at the console in a browser context of their own, with a passkey authenticator for approvers. */
async function tabOf(username: string, { authenticator = false, keyboard = false } = {}): Promise<ConsoleTab> {
  const existing = tabs.get(username);
  if (existing) return existing;
  const tab = await newTab();
  if (authenticator) await tab.addAuthenticator();
  await tab.signIn(username, passwordOf(username), { keyboard });
  tabs.set(username, tab);
  return tab;
}

beforeAll(async () => {
  [dev, browser] = await Promise.all([startDev(stateDir, `console-${Math.random().toString(36).slice(2, 8)}`), launchChromium()]);
  state = readLocalState(path.join(stateDir, 'local.json'));
}, 120_000);

afterAll(async () => {
  const problems = opened.flatMap((tab) => tab.problems);
  await browser?.close();
  if (dev) await stop(dev.child);
  rmSync(stateDir, { recursive: true, force: true });
  expect(problems).toEqual([]);
});

let prescriptionId: string;
let carolsOwnCommand: string;

describe('the operator console', () => {
  test('agentsec dev serves the console and names it in its --json line and in local.json', () => {
    const running = JSON.parse(dev!.output().split('\n').find((l) => l.includes('"running"'))!) as { consoleUrl: string };
    expect(running.consoleUrl).toBe(state.consoleUrl);
    expect(new URL(state.consoleUrl).hostname).toBe('localhost');
  });

  test('a user signs in with their name and password and sees who they are and their clearance', async () => {
    const alice = await newTab();
    await alice.page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    expect(await alice.accessibilityProblems()).toEqual([]);
    await alice.screenshot('sign-in');
    // A wrong password is refused by Cognito, and the page says so.
    await alice.page.getByLabel('Username').fill('alice');
    await alice.page.getByLabel('Password').fill('not-the-password');
    await alice.page.getByRole('button', { name: 'Sign in' }).click();
    await alice.page.getByRole('alert').filter({ hasText: /password/i }).waitFor();
    await alice.signIn('alice', passwordOf('alice'));
    expect(await alice.signedInBanner().textContent()).toBe('Signed in as alice (TOP_SECRET/FINANCE+MEDICAL)');
    expect(await alice.page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
    tabs.set('alice', alice);
  });

  test('a submitted command is followed live to its answer, with who did what', async () => {
    const alice = await tabOf('alice');
    await alice.go('Commands');
    expect(await alice.accessibilityProblems()).toEqual([]);
    await alice.submit('Ask the analyst to read_patient_record for patient P-1001.', 'SECRET', ['MEDICAL']);
    await alice.commandStatus('completed');
    const happened = alice.page.getByRole('list', { name: 'What happened' });
    await happened.getByText('analyst ran read_patient_record').waitFor();
    await happened.getByText(/core completed the command/).waitFor();
    expect(await alice.page.locator('pre.result').textContent()).toContain('P-1001');
    expect(await alice.accessibilityProblems()).toEqual([]);
    await alice.screenshot('command');
  });

  test('approvers register a passkey with their authenticator; a second one is refused', async () => {
    for (const name of ['carol', 'dave']) {
      // dave signs in with the keyboard alone.
      const tab = await tabOf(name, { authenticator: true, keyboard: name === 'dave' });
      await tab.go('Passkey');
      await tab.page.getByRole('status').filter({ hasText: 'You have no passkey yet.' }).waitFor();
      expect(await tab.accessibilityProblems()).toEqual([]);
      if (name === 'carol') await tab.screenshot('passkey');
      await tab.page.getByRole('button', { name: 'Register a passkey' }).click();
      await tab.page.getByRole('status').filter({ hasText: /^Passkey registered on / }).waitFor();
    }
    // The page offers no second registration; the API refuses one all the same (409).
    const carol = await tabOf('carol');
    await carol.page.reload();
    await carol.page.getByRole('status').filter({ hasText: /^You have a passkey, registered on / }).waitFor();
    expect(await carol.page.getByRole('button', { name: 'Register a passkey' }).count()).toBe(0);
    const { idToken } = JSON.parse((await carol.sessionStorage())['agentsec.session']) as { idToken: string };
    const again = await fetch(`${state.apiUrl}/v1/passkeys/options`, { method: 'POST', headers: { authorization: `Bearer ${idToken}` } });
    expect(again.status).toBe(409);
  });

  test('a prescription waits for two approvers, who see what they approve and sign their votes with their passkeys', async () => {
    const alice = await tabOf('alice');
    prescriptionId = await alice.submit(PRESCRIPTION, 'SECRET', ['MEDICAL'], 'prescribe');
    await alice.commandStatus('awaiting_approval');
    await alice.page.getByRole('heading', { name: 'Waiting for approval' }).waitFor();

    const carol = await tabOf('carol');
    await carol.go('Approvals');
    const request = carol.request('prescribe', prescriptionId);
    await request.waitFor();
    // What is approved, not a digest alone (DESIGN §5): the tool, its arguments, the label, the digest the vote binds.
    const shown = await request.textContent();
    for (const text of ['"drug": "Metformin"', '"patientId": "P-1001"', 'SECRET/MEDICAL', '0 of 2', 'required to approve']) expect(shown).toContain(text);
    expect(await request.locator('code.digest').textContent()).toMatch(/^[0-9a-f]{64}$/);
    expect(await carol.accessibilityProblems()).toEqual([]);
    expect((await carol.vote(request.getByRole('button', { name: 'Approve with passkey' }))).status()).toBe(200);
    await request.getByRole('status').filter({ hasText: 'Approved (1 of 2 approvals): waiting for more approvers.' }).waitFor();

    const dave = await tabOf('dave');
    await dave.go('Approvals');
    const his = dave.request('prescribe', prescriptionId);
    await his.getByText('1 of 2: carol').waitFor();
    await dave.screenshot('approvals');
    expect((await dave.vote(his.getByRole('button', { name: 'Approve with passkey' }), 'keyboard')).status()).toBe(200);
    await his.getByRole('status').filter({ hasText: 'Approved (2 of 2 approvals): the signer signed the directive.' }).waitFor();

    await alice.commandStatus('completed');
    const happened = alice.page.getByRole('list', { name: 'What happened' });
    for (const line of [/carol recorded approve on request/, /dave recorded approve on request/, /analyst ran prescribe/]) await happened.getByText(line).waitFor();
    await alice.screenshot('command-approved');
  });

  test('an approver cannot approve a request of their own command: refused by the API (403), shown, on the record', async () => {
    const carol = await tabOf('carol');
    carolsOwnCommand = await carol.submit(PRESCRIPTION, 'SECRET', ['MEDICAL'], 'prescribe');
    await carol.commandStatus('awaiting_approval');
    await carol.go('Approvals');
    const request = carol.request('prescribe', carolsOwnCommand);
    await request.waitFor();
    const answer = await carol.vote(request.getByRole('button', { name: 'Approve with passkey' }));
    expect(answer.status()).toBe(403);
    await request.getByRole('alert').filter({ hasText: `carol owns command ${carolsOwnCommand}` }).waitFor();
    await carol.screenshot('approvals-refused');
    // The refusal is on the command's record, with its reason.
    await carol.page.goto(`${state.consoleUrl}/#/commands/${carolsOwnCommand}`);
    await carol.page.getByRole('list', { name: 'What happened' }).locator('li.refusal').filter({ hasText: '[NOT_AUTHORIZED]' }).first().waitFor();
  });

  test('an approver whose clearance was lowered cannot approve what the page still shows them: refused (403), shown', async () => {
    const dave = await tabOf('dave');
    await dave.go('Approvals');
    const request = dave.request('prescribe', carolsOwnCommand);
    await request.waitFor();
    // dave is now CONFIDENTIAL in the user pool, and his tab's token is renewed with that clearance.
    const cognito = new CognitoIdentityProviderClient(awsClientConfig({ endpoint: state.endpoint, region: state.region }));
    const setClearance = (level: string, compartments: string) =>
      cognito.send(
        new AdminUpdateUserAttributesCommand({
          UserPoolId: state.userPoolId,
          Username: 'dave',
          UserAttributes: [
            { Name: 'custom:clearance', Value: level },
            { Name: 'custom:compartments', Value: compartments },
          ],
        }),
      );
    try {
      await setClearance('CONFIDENTIAL', '');
      const lowered = await login({ endpoint: state.endpoint, region: state.region, userPoolClientId: state.userPoolClientId, username: 'dave', password: passwordOf('dave') });
      await dave.replaceToken(lowered.token);
      const answer = await dave.vote(request.getByRole('button', { name: 'Approve with passkey' }));
      expect(answer.status()).toBe(403);
      await request.getByRole('alert').filter({ hasText: 'dave (CONFIDENTIAL) is not cleared for SECRET/MEDICAL' }).waitFor();
    } finally {
      await setClearance('SECRET', 'MEDICAL');
      cognito.destroy();
    }
  });

  test('an approver rejects a request without a passkey ceremony, and the command ends denied', async () => {
    const dave = await tabOf('dave');
    // A fresh session: his clearance is SECRET/MEDICAL again.
    await dave.page.getByRole('button', { name: 'Sign out' }).click();
    await dave.signIn('dave', passwordOf('dave'));
    await dave.go('Approvals');
    const request = dave.request('prescribe', carolsOwnCommand);
    expect((await dave.vote(request.getByRole('button', { name: 'Reject' }))).status()).toBe(200);
    await request.getByRole('status').filter({ hasText: 'Rejected: the request is denied.' }).waitFor();
    const carol = await tabOf('carol');
    await carol.page.goto(`${state.consoleUrl}/#/commands/${carolsOwnCommand}`);
    await carol.commandStatus('denied');
  });

  test('the audit log is filtered by command, type and actor, and verifies', async () => {
    const alice = await tabOf('alice');
    await alice.go('Audit');
    const rows = alice.page.getByRole('table').locator('tbody tr');
    await rows.first().waitFor();
    await alice.page.getByLabel('Command id').fill(prescriptionId);
    await alice.page.getByLabel('Type').selectOption('approval.recorded');
    await alice.page.getByRole('status').filter({ hasText: /^2 of \d+ entries match/ }).waitFor();
    expect((await rows.locator('td:nth-child(4)').allTextContents()).sort()).toEqual(['carol', 'dave']);
    await alice.page.getByLabel('Actor').fill('dave');
    await alice.page.getByRole('status').filter({ hasText: /^1 of \d+ entries match/ }).waitFor();
    for (const filter of ['Command id', 'Actor']) await alice.page.getByLabel(filter).fill('');
    await alice.page.getByLabel('Type').selectOption('');
    await alice.page.getByRole('button', { name: 'Verify' }).click();
    await alice.page.getByRole('status').filter({ hasText: /^The ledger verifies: \d+ entries/ }).waitFor();
    expect(await alice.accessibilityProblems()).toEqual([]);
    await alice.page.getByLabel('Command id').fill(prescriptionId.slice(0, 8));
    await alice.page.getByRole('status').filter({ hasText: /^\d+ of \d+ entries match/ }).waitFor();
    await alice.screenshot('audit');
  });

  test('a tampered ledger entry is named by the verification and highlighted in the log', async () => {
    await rewriteLedgerActor(state.tables.ledger, 4);
    const alice = await tabOf('alice');
    await alice.go('Audit');
    await alice.page.getByRole('button', { name: 'Verify' }).click();
    await alice.page.getByRole('status').filter({ hasText: /^The ledger does not verify: the first bad entry is #4\b/ }).waitFor();
    const bad = alice.page.locator('tbody tr.bad');
    await bad.waitFor();
    expect(await bad.count()).toBe(1);
    expect(await bad.getAttribute('data-seq')).toBe('4');
    expect(await bad.textContent()).toContain('first bad entry');
    // Who is mallory? The one entry that names her is the one rewritten.
    await alice.page.getByLabel('Actor').fill('mallory');
    await alice.page.getByRole('status').filter({ hasText: /^1 of \d+ entries match/ }).waitFor();
    await alice.screenshot('audit-tampered');
  });

  test('signing out leaves nothing of the user in the tab; the next user sees only what the API shows them', async () => {
    const tab = await tabOf('carol');
    await tab.go('Commands');
    // The commands carol submitted from this tab, with their text.
    await tab.page.getByRole('link', { name: `Command ${carolsOwnCommand.slice(0, 8)}` }).waitFor();
    await tab.page.getByText('Metformin').first().waitFor();
    await tab.page.getByRole('button', { name: 'Sign out' }).click();
    await tab.page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    tabs.delete('carol');
    expect(await tab.sessionStorage()).toEqual({});
    expect(await tab.page.locator('body').textContent()).not.toMatch(/Metformin|carol/);
    // Back to a page, or back in the history: the sign-in page, nothing of carol's.
    await tab.page.goto(`${state.consoleUrl}/#/commands/${carolsOwnCommand}`);
    await tab.page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    await tab.page.goBack();
    await tab.page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    expect(await tab.page.locator('body').textContent()).not.toContain('Metformin');

    // bob (CONFIDENTIAL, not an approver) in the same tab.
    await tab.signIn('bob', passwordOf('bob'));
    expect(await tab.signedInBanner().textContent()).toBe('Signed in as bob (CONFIDENTIAL)');
    await tab.go('Commands');
    await tab.page.getByText('None yet.', { exact: false }).waitFor();
    await tab.go('Approvals');
    await tab.page.getByRole('status').filter({ hasText: 'Nothing waits for your approval.' }).waitFor();
    expect(await tab.page.locator('body').textContent()).not.toContain('Metformin');
    await tab.go('Audit');
    await tab.page.getByRole('alert').filter({ hasText: 'the audit log is for auditors (TOP_SECRET) and approvers' }).waitFor();
    await tab.page.goto(`${state.consoleUrl}/#/commands/${prescriptionId}`);
    await tab.page.getByRole('alert').filter({ hasText: /not found/i }).waitFor();
    expect(await tab.page.getByTestId('command-status').textContent()).toBe('unknown');
  });
});
