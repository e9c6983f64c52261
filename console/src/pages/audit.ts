import { describeEntry } from '../../../cli/output';
import { ApiError, AuditVerification, EntryView } from '../api';
import { LiveRegion, field, h, problem, replace, shortId, time } from '../dom';
import { PageContext, PageView } from '../page';
import { TOPOLOGY } from '../topology';
import { isRefusal } from './ledger';

/** Rows shown at once: the newest that match the filters. */
const MAX_ROWS = 500;

/**
 * `#/audit`: the ledger (DESIGN §7) with filters by command, type and actor, and its verification: the chain, the
 * checkpoints and the signed tree heads recomputed by the API, the first bad entry named and highlighted.
 * `#/audit?commandId=…` opens it filtered to one command.
 */
export function auditPage(ctx: PageContext, params: URLSearchParams): PageView {
  const listStatus = new LiveRegion('status');
  const verifyStatus = new LiveRegion('status', 'status verification');
  const alert = new LiveRegion('alert');
  const commandId = h('input', { name: 'commandId', value: params.get('commandId') ?? '', spellcheck: 'false' });
  const type = h('select', { name: 'type' }, h('option', { value: '' }, 'Any'), ...TOPOLOGY.ledgerTypes.map((t) => h('option', { value: t }, t)));
  const actor = h('input', { name: 'actor', value: params.get('actor') ?? '', spellcheck: 'false' });
  const body = h('tbody', {});
  const reload = h('button', { type: 'button', onclick: () => void load() }, 'Reload');
  const verify = h('button', { type: 'button', onclick: () => void runVerify() }, 'Verify');
  type.value = params.get('type') ?? '';

  let entries: EntryView[] = [];
  let firstBad: number | undefined;

  function render(): void {
    const id = commandId.value.trim();
    const who = actor.value.trim();
    const matching = entries.filter(
      (e) => (!id || (e.commandId ?? '').startsWith(id)) && (!type.value || e.type === type.value) && (!who || e.actor === who),
    );
    const shown = matching.slice(-MAX_ROWS).reverse();
    replace(body, ...shown.map((e) => row(e, e.seq === firstBad)));
    const hiddenBad = firstBad !== undefined && !shown.some((e) => e.seq === firstBad) ? ` The first bad entry, #${firstBad}, is not among them.` : '';
    listStatus.say(
      `${matching.length} of ${entries.length} entries match${matching.length > shown.length ? `; the newest ${shown.length} are shown` : ''}.${hiddenBad}`,
    );
  }

  async function load(): Promise<void> {
    alert.clear();
    listStatus.say('Reading the ledger…');
    try {
      const more = await ctx.api.auditSince(entries.at(-1)?.seq ?? 0);
      if (ctx.signal.aborted) return;
      entries = entries.concat(more);
      render();
    } catch (err) {
      if (ctx.signal.aborted) return;
      listStatus.clear();
      alert.say(err instanceof ApiError ? problem(err.message, err.reason) : problem('The ledger could not be read.'));
    }
  }

  async function runVerify(): Promise<void> {
    verify.disabled = true;
    verifyStatus.say('Verifying the ledger…');
    try {
      const result = await ctx.api.verifyAudit();
      if (ctx.signal.aborted) return;
      firstBad = result.ok ? undefined : (result.firstBadSeq ?? undefined);
      verifyStatus.say(verificationText(result));
      verifyStatus.element.classList.toggle('bad', !result.ok);
      render();
      await load();
      body.querySelector('tr.bad')?.scrollIntoView({ block: 'center' });
    } catch (err) {
      if (ctx.signal.aborted) return;
      verifyStatus.say(err instanceof ApiError ? problem(err.message, err.reason) : problem('The ledger could not be verified.'));
    } finally {
      verify.disabled = false;
    }
  }

  for (const control of [commandId, actor]) control.addEventListener('input', render);
  type.addEventListener('change', render);
  void load();

  const filters = h(
    'form',
    { role: 'search', 'aria-label': 'Filter the entries', class: 'filters' },
    field('Command id', commandId),
    field('Type', type),
    field('Actor', actor),
    reload,
  );
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    render();
  });

  return {
    title: 'Audit log',
    content: h(
      'section',
      { class: 'page' },
      h('h1', { tabindex: '-1' }, 'Audit log'),
      h('p', {}, 'Every security decision, in order. The ledger holds identifiers, labels and digests, never the content.'),
      h('h2', {}, 'Verification'),
      h('p', {}, 'Recomputes the hash chain, the checkpoints and their signed tree heads, and names the first bad entry.'),
      verify,
      verifyStatus.element,
      h('h2', {}, 'Entries'),
      h('p', {}, 'Filter by a command id (or its first characters), an entry type, or an actor: an agent, a user, or a service such as api, signer or sequencer.'),
      filters,
      listStatus.element,
      alert.element,
      h(
        'div',
        { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Ledger entries' },
        h(
          'table',
          { class: 'entries' },
          h('caption', {}, 'Ledger entries, newest first'),
          h('thead', {}, h('tr', {}, ...['Seq', 'Time', 'Type', 'Actor', 'Command', 'Reason', 'What'].map((c) => h('th', { scope: 'col' }, c)))),
          body,
        ),
      ),
    ),
  };
}

function row(e: EntryView, bad: boolean): HTMLTableRowElement {
  const classes = [bad ? 'bad' : '', isRefusal(e) ? 'refusal' : ''].filter(Boolean).join(' ');
  return h(
    'tr',
    { class: classes || undefined, 'data-seq': e.seq },
    h('th', { scope: 'row' }, String(e.seq), bad ? h('strong', { class: 'flag' }, ' first bad entry') : null),
    h('td', {}, time(e.at)),
    h('td', {}, e.type),
    h('td', {}, e.actor),
    h('td', {}, e.commandId ? h('a', { href: `#/commands/${encodeURIComponent(e.commandId)}`, title: e.commandId }, shortId(e.commandId)) : ''),
    h('td', {}, e.reason ?? ''),
    h('td', {}, describeEntry(e)),
  );
}

function verificationText(r: AuditVerification): string {
  const entries = count(r.entries, 'entry', 'entries');
  if (!r.ok) {
    const bad = `the first bad entry is #${r.firstBadSeq ?? '?'}${r.reason ? ` (${r.reason})` : ''}`;
    return `The ledger does not verify: ${bad}. ${entries}; ${count(r.checkpoints, 'checkpoint', 'checkpoints')} verified before it.`;
  }
  const head = r.treeSize > 0 ? ` A signed tree head covers entries 1–${r.treeSize}.` : ' No signed tree head yet.';
  return `The ledger verifies: ${entries}, ${count(r.checkpoints, 'checkpoint', 'checkpoints')}, intact.${head}`;
}

const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
