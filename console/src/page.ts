import type { Api, MeView } from './api';

/** What a page is given: the API as the signed-in user, who that is, and a signal that ends its work when it is left. */
export interface PageContext {
  readonly api: Api;
  /** `GET /v1/me`, or undefined when it could not be read. */
  readonly me: MeView | undefined;
  /** Aborted when the page is left or the user signs out: polls stop, late answers are dropped. */
  readonly signal: AbortSignal;
  /** What this tab remembers for the signed-in user; forgotten at sign-out. */
  readonly memory: SessionMemory;
  /** Reads `GET /v1/me` again (after registering a passkey). */
  refreshMe(): Promise<void>;
}

/** A page: its title (the document's and its heading's) and its content, which it keeps up to date itself. */
export interface PageView {
  readonly title: string;
  readonly content: HTMLElement;
}

export type Page = (ctx: PageContext, params: URLSearchParams, path: readonly string[]) => PageView;

/** A command submitted from this tab. */
export interface RememberedCommand {
  readonly commandId: string;
  readonly text: string;
  readonly label: string;
  readonly submittedAt: string;
}

/** What the console remembers between pages, in memory only, for one signed-in user. */
export class SessionMemory {
  readonly commands: RememberedCommand[] = [];
}

/**
 * Calls `step` now and then every `intervalMs` until it returns false or `signal` is aborted. A step shows the API's
 * refusals itself; anything else it throws ends the polling and is reported as the page's error, never swallowed.
 */
export function poll(signal: AbortSignal, intervalMs: number, step: () => Promise<boolean>): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  const run = async () => {
    if (signal.aborted) return;
    let again = false;
    try {
      again = await step();
    } catch (err) {
      reportError(err);
    }
    if (again && !signal.aborted) timer = setTimeout(run, intervalMs);
  };
  void run();
}
