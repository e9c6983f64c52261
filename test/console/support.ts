import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { Browser, BrowserContext, CDPSession, Locator, Page, Response, chromium } from 'playwright-core';
import { ROOT } from '../cli/support';

/** Driving the console in Chromium (Debian's, at /usr/bin/chromium) as its users would, one browser context per user. */

export const CHROMIUM = process.env.AGENTSEC_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'console');

/** How long a command may take to end on the local cloud; generous, it usually takes a second or two. */
export const COMMAND_TIMEOUT_MS = 45_000;

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set AGENTSEC_CHROMIUM)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}

/**
 * A console tab in a browser context of its own (own sessionStorage, own virtual authenticator), as one person uses it.
 * Everything that goes wrong in the page (script errors, Content-Security-Policy and Trusted Types violations) is kept
 * in `problems`; the API's refusals, which the browser also logs as failed loads, are not problems.
 */
export class ConsoleTab {
  readonly problems: string[] = [];
  private cdp?: CDPSession;

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('pageerror', (err) => this.problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) this.problems.push(`console: ${msg.text()}`);
    });
  }

  static async open(browser: Browser, consoleUrl: string): Promise<ConsoleTab> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1, locale: 'en-GB', timezoneId: 'UTC' });
    const page = await context.newPage();
    await page.goto(consoleUrl);
    return new ConsoleTab(context, page);
  }

  /** Chromium's virtual authenticator for this user (CDP WebAuthn domain): a platform authenticator that verifies the user. */
  async addAuthenticator(): Promise<void> {
    this.cdp = await this.context.newCDPSession(this.page);
    await this.cdp.send('WebAuthn.enable', { enableUI: false });
    await this.cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
  }

  /** Signs in with the form; with `keyboard`, by typing and pressing Tab and Enter only. */
  async signIn(username: string, password: string, { keyboard = false } = {}): Promise<void> {
    if (keyboard) {
      await this.page.getByLabel('Username').focus();
      await this.page.keyboard.type(username);
      await this.page.keyboard.press('Tab');
      await this.page.keyboard.type(password);
      await this.page.keyboard.press('Enter');
    } else {
      await this.page.getByLabel('Username').fill(username);
      await this.page.getByLabel('Password').fill(password);
      await this.page.getByRole('button', { name: 'Sign in' }).click();
    }
    await this.signedInBanner().waitFor();
  }

  /** The banner's "Signed in as …" line. */
  signedInBanner(): Locator {
    return this.page.getByRole('banner').getByText(/^Signed in as /);
  }

  async go(link: 'Commands' | 'Approvals' | 'Audit' | 'Passkey'): Promise<void> {
    await this.page.getByRole('navigation').getByRole('link', { name: link, exact: true }).click();
    await this.page.getByRole('heading', { level: 1 }).waitFor();
  }

  /** Submits a command from the Commands page and returns its id, once its page is open. */
  async submit(text: string, level: string, compartments: readonly string[], capabilities = ''): Promise<string> {
    await this.go('Commands');
    const page = this.page;
    await page.getByLabel('Command', { exact: true }).fill(text);
    await page.getByLabel('Level').selectOption(level);
    for (const c of compartments) await page.getByLabel(c, { exact: true }).check();
    if (capabilities) await page.getByLabel('Capabilities').fill(capabilities);
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/#\/commands\/[0-9a-f-]{36}$/);
    return decodeURIComponent(page.url().split('#/commands/')[1]);
  }

  /** Waits until the command page shows `status`. */
  async commandStatus(status: string, timeout = COMMAND_TIMEOUT_MS): Promise<void> {
    await this.page.getByTestId('command-status').filter({ hasText: new RegExp(`^${status}$`) }).waitFor({ timeout });
  }

  /** The article of the approval request for `tool` of command `commandId`, on the Approvals page. */
  request(tool: string, commandId: string): Locator {
    return this.page.getByRole('article', { name: `${tool} for command ${commandId.slice(0, 8)}` });
  }

  /** Clicks `button` (or presses Enter on it) and returns the API's answer to the vote it sends. */
  async vote(button: Locator, how: 'click' | 'keyboard' = 'click'): Promise<Response> {
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => /\/v1\/approvals\/[^/]+$/.test(new URL(r.url()).pathname) && r.request().method() === 'POST'),
      how === 'click' ? button.click() : button.focus().then(() => this.page.keyboard.press('Enter')),
    ]);
    return response;
  }

  /**
   * What an assistive technology would miss on the page: a form control or button without an accessible name, a page
   * without exactly one level-1 heading. Empty when the page is fine.
   */
  async accessibilityProblems(): Promise<string[]> {
    return this.page.evaluate(`(() => {
      const problems = [];
      for (const el of document.querySelectorAll('input, select, textarea, button')) {
        const labelled = (el.labels && [...el.labels].some((l) => l.textContent.trim())) || el.getAttribute('aria-label') ||
          (el.tagName === 'BUTTON' && el.textContent.trim());
        if (!labelled) problems.push('no accessible name: ' + el.outerHTML.slice(0, 80));
      }
      const h1 = document.querySelectorAll('h1').length;
      if (h1 !== 1) problems.push(h1 + ' level-1 headings');
      return problems;
    })()`);
  }

  /** The page as it is, banner to last line, into test-artifacts/console/<name>.png. */
  async screenshot(name: string): Promise<void> {
    await this.page.evaluate('document.activeElement instanceof HTMLElement && document.activeElement.blur()');
    await this.page.locator('body').screenshot({ path: path.join(ARTIFACTS, `${name}.png`), animations: 'disabled', caret: 'hide' });
  }

  /** This tab's sessionStorage, as the console left it. */
  sessionStorage(): Promise<Record<string, string>> {
    return this.page.evaluate('Object.fromEntries(Object.entries(sessionStorage))');
  }

  /** Replaces the session's ID token: what the tab holds after the user's token was renewed elsewhere. */
  async replaceToken(idToken: string): Promise<void> {
    await this.page.evaluate(`(() => {
      const session = JSON.parse(sessionStorage.getItem('agentsec.session'));
      session.idToken = ${JSON.stringify(idToken)};
      sessionStorage.setItem('agentsec.session', JSON.stringify(session));
    })()`);
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}
