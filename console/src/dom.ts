/**
 * Building the page. Text goes in only as text nodes (`textContent`), never as markup: what the console shows is
 * classified text and strings an attacker may have chosen (a tool's arguments, a model's answer). The console server's
 * Content-Security-Policy (`require-trusted-types-for 'script'`) makes the browser refuse any HTML string sink.
 */

export type Child = Node | string | number | null | undefined | false;
type Handler = (event: Event) => void;
export type Attributes = Record<string, string | number | boolean | undefined | Handler>;

/**
 * An element with attributes (`onclick` and other `on…` take a function), and children as nodes or text.
 *
 * @example
 * h('button', { type: 'button', onclick: () => signOut() }, 'Sign out');
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== undefined) element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

let nextId = 0;
/** An id unique in the page, for `for`/`aria-describedby`/`aria-labelledby`. */
export function uniqueId(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/**
 * A labelled form control with an optional hint the control is described by.
 *
 * @example
 * field('Username', h('input', { name: 'username', autocomplete: 'username' }));
 */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  const id = control.id || uniqueId('field');
  control.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' }, h('label', { for: id }, label), hintId ? h('p', { class: 'hint', id: hintId }, hint) : null, control);
}

/** A definition list of the pairs whose value is present. */
export function details(pairs: ReadonlyArray<readonly [string, Child]>, attributes: Attributes = {}): HTMLDListElement {
  const list = h('dl', { class: 'details', ...attributes });
  for (const [term, value] of pairs) {
    if (value === null || value === undefined || value === false || value === '') continue;
    append(list, h('dt', {}, term), h('dd', {}, value));
  }
  return list;
}

/**
 * A live region: `status` for progress and outcomes (announced politely), `alert` for refusals and errors. The region
 * is in the page before anything is written to it, so assistive technology announces every message.
 */
export class LiveRegion {
  readonly element: HTMLElement;

  constructor(role: 'status' | 'alert', className: string = role) {
    this.element = h('div', { role, class: className });
  }

  say(...parts: Child[]): void {
    replace(this.element, ...parts);
  }

  clear(): void {
    this.element.replaceChildren();
  }
}

/** An API refusal as people read it: the message, and the reason code when there is one. */
export function problem(message: string, reason?: string): HTMLElement {
  return h('p', {}, message, reason ? h('span', { class: 'reason' }, ` (${reason})`) : null);
}

/** A timestamp as local date and time, the ISO text kept for machines. */
export function time(iso: string | null | undefined): HTMLElement | null {
  if (!iso) return null;
  const date = new Date(iso);
  return h('time', { datetime: iso }, Number.isNaN(date.getTime()) ? iso : date.toLocaleString());
}

/** The first 8 characters of an id: enough to tell ids apart on a screen. */
export const shortId = (id: string): string => id.slice(0, 8);
