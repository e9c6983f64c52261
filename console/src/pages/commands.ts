import { describeEntry } from '../../../cli/output';
import { ApiError, CommandView, EntryView, TERMINAL_STATUSES } from '../api';
import { CapabilityError, describeCapability, parseCapabilities } from '../capabilities';
import { LiveRegion, details, field, h, problem, replace, shortId, time } from '../dom';
import { PageContext, PageView, poll } from '../page';
import { TOPOLOGY } from '../topology';
import { isRefusal } from './ledger';

/** How often a command's status and the ledger are read while it runs. */
const POLL_MS = 1000;
/** Ledger reads after the command ended: the entries written just after its last status change (`command.completed`). */
const READS_AFTER_END = 3;

/** `#/commands`: submit a command (text, label, capabilities) and find the ones submitted from this tab. */
export function commandsPage(ctx: PageContext, _params: URLSearchParams): PageView {
  const alert = new LiveRegion('alert');
  const status = new LiveRegion('status');
  const text = h('textarea', { name: 'text', rows: 4, required: true, maxlength: 16384 });
  const level = h('select', { name: 'level' }, ...TOPOLOGY.levels.map((l) => h('option', { value: l }, l)));
  const compartments = TOPOLOGY.compartments.map((c) => h('input', { type: 'checkbox', name: 'compartments', value: c }));
  const capabilities = h('textarea', { name: 'capabilities', rows: 3, spellcheck: 'false' });
  const declassifyTo = h('input', { name: 'declassifyTo', spellcheck: 'false', autocapitalize: 'characters' });
  const submit = h('button', { type: 'submit' }, 'Submit');
  const tools = TOPOLOGY.tools.filter((t) => t.priority !== 'low').map((t) => `${t.name} (${t.priority})`).join(', ');

  const form = h(
    'form',
    { 'aria-labelledby': 'submit-heading' },
    field('Command', text, 'What the agents should do, in your words.'),
    field('Level', level, 'The classification of the command; your clearance must dominate it.'),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Compartments'),
      ...compartments.map((box) => h('label', { class: 'check' }, box, ` ${box.value}`)),
    ),
    field(
      'Capabilities',
      capabilities,
      `Optional, one per line, as with agentsec ask --allow: tool names (send_email,prescribe), one capability ` +
        `(send_email:to=frontdesk@hospital.example,maxUses=1; arg=a|b for a list, arg~regex for a pattern) or JSON. Tools that need one: ${tools}.`,
    ),
    field('Declassify to', declassifyTo, 'Optional: the label the answer may be written down to, e.g. UNCLASSIFIED or CONFIDENTIAL/MEDICAL.'),
    submit,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    alert.clear();
    let body: Record<string, unknown>;
    try {
      const allow = parseCapabilities(capabilities.value);
      const declassify = declassifyTo.value.trim();
      body = {
        text: text.value,
        classification: { level: level.value, compartments: compartments.filter((c) => c.checked).map((c) => c.value) },
        ...(allow.length ? { allow } : {}),
        ...(declassify ? { declassifyTo: labelOrLevel(declassify) } : {}),
      };
    } catch (err) {
      alert.say(problem(err instanceof CapabilityError ? `Capabilities: ${err.message}` : (err as Error).message));
      capabilities.focus();
      return;
    }
    submit.disabled = true;
    status.say('Submitting…');
    ctx.api
      .submit(body)
      .then(({ commandId }) => {
        const label = [level.value, compartments.filter((c) => c.checked).map((c) => c.value).join('+')].filter(Boolean).join('/');
        ctx.memory.commands.unshift({ commandId, text: text.value, label, submittedAt: new Date().toISOString() });
        location.hash = `#/commands/${encodeURIComponent(commandId)}`;
      })
      .catch((err: unknown) => {
        if (ctx.signal.aborted) return;
        status.clear();
        alert.say(err instanceof ApiError ? problem(err.message, err.reason) : problem('The command could not be submitted.'));
        submit.disabled = false;
      });
  });

  const mine = ctx.memory.commands;
  return {
    title: 'Commands',
    content: h(
      'section',
      { class: 'page' },
      h('h1', { tabindex: '-1' }, 'Commands'),
      h('h2', { id: 'submit-heading' }, 'Submit a command'),
      form,
      status.element,
      alert.element,
      h('h2', {}, 'Submitted from this tab'),
      mine.length === 0
        ? h('p', {}, 'None yet. Commands you submit here are listed until you sign out.')
        : h(
            'ul',
            { class: 'commands' },
            ...mine.map((c) =>
              h('li', {}, h('a', { href: `#/commands/${encodeURIComponent(c.commandId)}` }, `Command ${shortId(c.commandId)}`), ` (${c.label}) `, h('span', { class: 'excerpt' }, excerpt(c.text)), ' ', time(c.submittedAt)),
            ),
          ),
    ),
  };
}

/** `#/commands/<id>`: the command's status, capabilities and answer, and what the agents did, as it happens. */
export function commandPage(ctx: PageContext, commandId: string): PageView {
  const statusText = h('strong', { 'data-testid': 'command-status' }, 'loading');
  const status = h('p', { role: 'status', class: 'command-status' }, 'Status: ', statusText);
  const alert = new LiveRegion('alert');
  const facts = h('div', {});
  const awaiting = h('div', {});
  const answer = h('div', {});
  const progress = h('ol', { class: 'ledger', 'aria-labelledby': 'progress-heading' });
  const progressNote = h('p', { class: 'hint' }, 'Reading the ledger…');
  const remembered = ctx.memory.commands.find((c) => c.commandId === commandId);

  let seen = 0;
  let ledgerOpen = true;
  let readsAfterEnd = 0;
  let last: CommandView | undefined;

  const readLedger = async () => {
    if (!ledgerOpen) return;
    try {
      const entries = await ctx.api.auditSince(seen);
      if (ctx.signal.aborted) return;
      for (const e of entries) {
        seen = Math.max(seen, e.seq);
        if (e.commandId === commandId) progress.appendChild(entryItem(e));
      }
      progressNote.textContent = progress.childElementCount === 0 ? 'Nothing recorded yet.' : '';
    } catch (err) {
      if (!(err instanceof ApiError) || ctx.signal.aborted) return;
      // The ledger is for auditors and approvers (DESIGN §7); everyone else follows the status alone.
      ledgerOpen = false;
      progressNote.replaceChildren(problem(err.message, err.reason), h('span', {}, 'The status above still shows how the command goes.'));
    }
  };

  poll(ctx.signal, POLL_MS, async () => {
    let view: CommandView;
    try {
      view = await ctx.api.command(commandId);
    } catch (err) {
      if (ctx.signal.aborted) return false;
      statusText.textContent = 'unknown';
      alert.say(err instanceof ApiError ? problem(err.message, err.reason) : problem('The command could not be read.'));
      return false;
    }
    if (ctx.signal.aborted) return false;
    if (view.status !== last?.status || view.updatedAt !== last?.updatedAt) showCommand(view);
    last = view;
    await readLedger();
    if (!TERMINAL_STATUSES.has(view.status)) return true;
    readsAfterEnd += 1;
    return ledgerOpen && readsAfterEnd <= READS_AFTER_END;
  });

  function showCommand(view: CommandView): void {
    statusText.textContent = view.status;
    replace(
      facts,
      details([
        ['Command', remembered ? h('span', { class: 'excerpt' }, remembered.text) : null],
        ['Id', h('code', {}, view.commandId)],
        ['Label', view.label],
        ['Submitted', time(view.createdAt)],
        ['Last change', time(view.updatedAt)],
        ['Reason', view.reason ?? null],
        ['Capabilities', view.allow ? (view.allow.length ? view.allow.map(describeCapability).join('; ') : 'none') : null],
      ]),
    );
    replace(
      awaiting,
      view.awaiting?.length
        ? h(
            'section',
            { 'aria-labelledby': 'awaiting-heading' },
            h('h2', { id: 'awaiting-heading' }, 'Waiting for approval'),
            h(
              'ul',
              {},
              ...view.awaiting.map((a) =>
                h(
                  'li',
                  {},
                  `${a.kind === 'tool' ? (a.tool ?? 'a tool') : 'a declassification'}: ${a.approvals.length} of ${a.approvalsNeeded} approvals`,
                  a.approvals.length ? ` (${a.approvals.join(', ')})` : '',
                  `; may approve: ${a.approvers.length ? a.approvers.join(', ') : 'nobody cleared for it'}. Request ${shortId(a.requestId)}.`,
                ),
              ),
            ),
          )
        : null,
    );
    replace(answer, answerOf(view));
  }

  return {
    title: `Command ${shortId(commandId)}`,
    content: h(
      'section',
      { class: 'page' },
      h('h1', { tabindex: '-1' }, `Command ${shortId(commandId)}`),
      status,
      alert.element,
      facts,
      awaiting,
      answer,
      h('h2', { id: 'progress-heading' }, 'What happened'),
      progressNote,
      progress,
      h('p', {}, h('a', { href: `#/audit?commandId=${encodeURIComponent(commandId)}` }, 'Every ledger entry of this command')),
    ),
  };
}

function answerOf(view: CommandView): HTMLElement | null {
  if (view.resultWithheld) {
    return h(
      'section',
      { 'aria-labelledby': 'answer-heading' },
      h('h2', { id: 'answer-heading' }, 'Answer'),
      h('p', {}, `Withheld: the answer is labelled ${view.resultWithheld.label}, above your clearance (${view.resultWithheld.reason}).`),
    );
  }
  if (view.result === undefined) return null;
  return h(
    'section',
    { 'aria-labelledby': 'answer-heading' },
    h('h2', { id: 'answer-heading' }, 'Answer ', h('span', { class: 'label' }, view.resultLabel ?? '')),
    h('pre', { class: 'result', tabindex: '0' }, view.result),
  );
}

/** One ledger entry as a line: who did what; a refusal says so, with its reason. */
function entryItem(e: EntryView): HTMLLIElement {
  const refusal = isRefusal(e);
  return h(
    'li',
    { class: refusal ? 'refusal' : undefined },
    h('span', { class: 'seq' }, `#${e.seq}`),
    ' ',
    time(e.at),
    ' ',
    refusal ? h('strong', {}, 'Refused: ') : null,
    describeEntry(e),
  );
}

function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 80)}…` : line;
}

/** `SECRET` or `SECRET/MEDICAL+FINANCE`, as the API takes `declassifyTo`. */
function labelOrLevel(text: string): string | { level: string; compartments: string[] } {
  const [level, compartments, extra] = text.toUpperCase().split('/').map((p) => p.trim());
  if (extra !== undefined) throw new Error(`Declassify to: "${text}" is not a label such as SECRET or SECRET/MEDICAL`);
  return compartments === undefined ? level : { level, compartments: compartments.split('+').map((c) => c.trim()).filter(Boolean) };
}
