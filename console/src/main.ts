import { Api, MeView } from './api';
import { ConsoleConfig, loadConfig } from './config';
import { h, problem, replace } from './dom';
import { Page, PageContext, SessionMemory } from './page';
import { Session, currentSession, endSession } from './session';
import { approvalsPage } from './pages/approvals';
import { auditPage } from './pages/audit';
import { commandPage, commandsPage } from './pages/commands';
import { passkeyPage } from './pages/passkey';
import { signInPage } from './pages/sign-in';

/**
 * The operator console: a single page whose routes are the URL's hash (`#/commands`, `#/commands/<id>`,
 * `#/approvals`, `#/audit`, `#/passkey`). Nothing of one user's outlives their sign-out: the session, the memory of
 * their commands and every page's content are dropped, and a page's polls stop.
 */

const NAV: ReadonlyArray<readonly [string, string]> = [
  ['commands', 'Commands'],
  ['approvals', 'Approvals'],
  ['audit', 'Audit'],
  ['passkey', 'Passkey'],
];

const PAGES: Readonly<Record<string, Page>> = {
  commands: (ctx, params, path) => (path[1] ? commandPage(ctx, path[1]) : commandsPage(ctx, params)),
  approvals: approvalsPage,
  audit: auditPage,
  passkey: passkeyPage,
};

class ConsoleApp {
  private session: Session | undefined;
  private me: MeView | undefined;
  private memory = new SessionMemory();
  private page = new AbortController();
  private readonly api: Api;
  private readonly signInPage: () => HTMLElement;

  constructor(
    config: ConsoleConfig,
    private readonly banner: HTMLElement,
    private readonly main: HTMLElement,
  ) {
    this.api = new Api(config, () => currentSession()?.idToken, () => this.expired());
    window.addEventListener('hashchange', () => void this.route());
    this.signInPage = signInPage(config, (session) => void this.signedIn(session));
  }

  async start(): Promise<void> {
    this.session = currentSession();
    if (this.session) await this.loadMe();
    await this.route();
  }

  private async signedIn(session: Session): Promise<void> {
    this.forget();
    this.session = session;
    await this.loadMe();
    if (!location.hash || location.hash === '#/sign-in') location.hash = '#/commands';
    else await this.route();
  }

  private async loadMe(): Promise<void> {
    const token = this.session?.idToken;
    let me: MeView | undefined;
    try {
      me = await this.api.me();
    } catch {
      me = undefined; // pages say what they cannot show; the header names the user from the token
    }
    // An answer for a session that has since ended is dropped: one user's account never shows under another's.
    if (this.session?.idToken === token) this.me = me;
  }

  /** Ends the session and drops everything the console holds for the user. */
  private signOut(message?: string): void {
    this.forget();
    endSession();
    history.replaceState(null, '', `${location.pathname}${location.search}#/sign-in`);
    this.showSignIn(message);
  }

  private expired(): void {
    if (this.session) this.signOut('Your session has ended: sign in again.');
  }

  private forget(): void {
    this.page.abort();
    this.page = new AbortController();
    this.session = undefined;
    this.me = undefined;
    this.memory = new SessionMemory();
    replace(this.main);
  }

  private async route(): Promise<void> {
    this.session = currentSession();
    if (!this.session) {
      this.signOut(this.me ? 'Your session has ended: sign in again.' : undefined);
      return;
    }
    const [pathPart, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
    const path = pathPart.split('/').filter((p) => p.length > 0).map(decodeURIComponent);
    const page = PAGES[path[0] ?? ''];
    if (!page) {
      history.replaceState(null, '', '#/commands');
      await this.route();
      return;
    }
    this.page.abort();
    this.page = new AbortController();
    const ctx: PageContext = {
      api: this.api,
      me: this.me,
      signal: this.page.signal,
      memory: this.memory,
      refreshMe: async () => {
        await this.loadMe();
        this.renderBanner(path[0]);
      },
    };
    const view = page(ctx, new URLSearchParams(query), path);
    this.renderBanner(path[0]);
    document.title = `${view.title} · AgentSec`;
    replace(this.main, view.content);
    // Moving focus to the new page's heading tells screen reader users the page changed.
    this.main.querySelector<HTMLElement>('h1')?.focus();
  }

  /** A link to the page already shown reloads it (the hash does not change, so no `hashchange` would). */
  private follow(event: Event, route: string): void {
    if (location.hash !== `#/${route}`) return;
    event.preventDefault();
    void this.route();
  }

  private showSignIn(message?: string): void {
    this.renderBanner(undefined);
    document.title = 'Sign in · AgentSec';
    const content = this.signInPage();
    if (message) content.querySelector('[role="status"]')?.replaceChildren(message);
    replace(this.main, content);
  }

  private renderBanner(current: string | undefined): void {
    const brand = h('p', { class: 'brand' }, 'AgentSec console');
    if (!this.session) {
      replace(this.banner, brand);
      return;
    }
    const nav = h(
      'nav',
      { 'aria-label': 'Main' },
      h(
        'ul',
        {},
        ...NAV.map(([route, name]) =>
          h('li', {}, h('a', { href: `#/${route}`, 'aria-current': route === current ? 'page' : undefined, onclick: (event) => this.follow(event, route) }, name)),
        ),
      ),
    );
    const who = this.me ? `Signed in as ${this.me.username} (${this.me.clearance})` : `Signed in as ${this.session.username}`;
    replace(
      this.banner,
      brand,
      nav,
      h('div', { class: 'user' }, h('p', {}, who), h('button', { type: 'button', onclick: () => this.signOut('You are signed out.') }, 'Sign out')),
    );
  }
}

async function boot(): Promise<void> {
  const banner = document.getElementById('banner') as HTMLElement;
  const main = document.getElementById('main') as HTMLElement;
  let config: ConsoleConfig;
  try {
    config = await loadConfig();
  } catch (err) {
    replace(main, h('h1', { tabindex: '-1' }, 'The console cannot start'), h('div', { role: 'alert' }, problem((err as Error).message)));
    return;
  }
  await new ConsoleApp(config, banner, main).start();
}

void boot();
