import { startAuthentication } from '@simplewebauthn/browser';
import { ApiError, ApprovalDecisionView, PendingApprovalView } from '../api';
import { LiveRegion, details, h, problem, replace, shortId, time, uniqueId } from '../dom';
import { PageContext, PageView } from '../page';

/**
 * `#/approvals`: the requests waiting for this approver (DESIGN §5). Each shows what it authorizes (the tool and its
 * arguments, or the exact text to be released), who asked, its label, the votes so far and the digest a vote binds;
 * approving signs the vote with the approver's passkey. The API lists only what the approver is cleared for.
 */
export function approvalsPage(ctx: PageContext, _params: URLSearchParams): PageView {
  const status = new LiveRegion('status');
  const alert = new LiveRegion('alert');
  const list = h('div', { class: 'approvals' });
  const refresh = h('button', { type: 'button', onclick: () => void load() }, 'Refresh');

  async function load(): Promise<void> {
    alert.clear();
    status.say('Loading the requests…');
    try {
      const pending = await ctx.api.approvals();
      if (ctx.signal.aborted) return;
      replace(list, ...pending.map((item) => requestArticle(ctx, item)));
      status.say(pending.length === 0 ? 'Nothing waits for your approval.' : `${pending.length} request${pending.length === 1 ? '' : 's'} waiting.`);
    } catch (err) {
      if (ctx.signal.aborted) return;
      status.clear();
      alert.say(err instanceof ApiError ? problem(err.message, err.reason) : problem('The requests could not be read.'));
    }
  }
  void load();

  const me = ctx.me;
  return {
    title: 'Approvals',
    content: h(
      'section',
      { class: 'page' },
      h('h1', { tabindex: '-1' }, 'Approvals'),
      h('p', {}, 'Requests waiting for approvers: critical tools and declassifications. You see what you approve; your vote is bound to the digest of it.'),
      me && !me.approver ? h('p', { class: 'note' }, `${me.username} is not an approver: nothing waits for you here.`) : null,
      me?.approver && !me.passkey.registered
        ? h('p', { class: 'note' }, 'Approving needs your passkey: ', h('a', { href: '#/passkey' }, 'register one on the Passkey page'), '.')
        : null,
      refresh,
      status.element,
      alert.element,
      list,
    ),
  };
}

/** One request: what it is, and the approver's two choices. */
function requestArticle(ctx: PageContext, item: PendingApprovalView): HTMLElement {
  const headingId = uniqueId('request');
  const status = new LiveRegion('status');
  const alert = new LiveRegion('alert');
  const approve = h('button', { type: 'button', class: 'approve' }, 'Approve with passkey');
  const reject = h('button', { type: 'button', class: 'reject' }, 'Reject');
  const buttons = [approve, reject];

  const decide = async (decision: 'approve' | 'reject') => {
    alert.clear();
    for (const b of buttons) b.disabled = true;
    try {
      let passkey: unknown;
      if (decision === 'approve' && item.passkey?.options) {
        status.say('Confirm with your passkey…');
        passkey = await startAuthentication({ optionsJSON: item.passkey.options as Parameters<typeof startAuthentication>[0]['optionsJSON'] });
      } else if (decision === 'approve' && item.passkey?.required) {
        throw new ApiError(0, 'This approval must be signed with your passkey, and you have none yet: register one on the Passkey page.');
      }
      status.say(decision === 'approve' ? 'Recording your approval…' : 'Recording your rejection…');
      const outcome = await ctx.api.decide(item.requestId, { decision, ...(item.digest ? { digest: item.digest } : {}), ...(passkey ? { passkey } : {}) });
      if (ctx.signal.aborted) return;
      status.say(outcomeText(outcome));
      if (outcome.status !== 'pending' || !outcome.recorded) return;
      votes.textContent = votesText(outcome.approvals, outcome.approvalsNeeded);
    } catch (err) {
      if (ctx.signal.aborted) return;
      status.clear();
      alert.say(err instanceof ApiError ? problem(err.message, err.reason) : problem(passkeyProblem(err)));
      for (const b of buttons) b.disabled = false;
    }
  };
  approve.addEventListener('click', () => void decide('approve'));
  reject.addEventListener('click', () => void decide('reject'));

  const votes = h('span', {}, votesText(item.approvals, item.approvalsNeeded));
  const title =
    item.kind === 'tool'
      ? `${item.tool ?? 'A tool'} for command ${shortId(item.commandId)}`
      : `Release to ${item.target}${item.declassifyTo ? ` at ${item.declassifyTo}` : ''} for command ${shortId(item.commandId)}`;
  return h(
    'article',
    { class: 'request', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, title),
    details([
      ['What', shownOf(item)],
      ['Asked by', `${item.requester}${item.owner ? `, for ${item.owner}'s command` : ''} (command ${shortId(item.commandId)})`],
      ['Label', item.label],
      ['Declassify to', item.declassifyTo ?? null],
      ['Votes so far', votes],
      ['Digest', item.digest ? h('code', { class: 'digest' }, item.digest) : null],
      ['Requested', time(item.createdAt)],
      ['Passkey', item.passkey ? (item.passkey.required ? 'required to approve' : 'not required') : null],
      ['Request', h('code', {}, item.requestId)],
    ]),
    h('div', { class: 'actions' }, approve, ' ', reject),
    status.element,
    alert.element,
  );
}

/** What the request authorizes, as the API opened it at the approver's clearance. */
function shownOf(item: PendingApprovalView): HTMLElement {
  const shown = item.shown;
  if (!shown) return h('span', {}, 'Not shown: only its digest is known.');
  if (shown.kind === 'tool') {
    return h('div', {}, h('span', {}, `${shown.tool} with the arguments`), h('pre', { class: 'shown', tabindex: '0' }, JSON.stringify(shown.args, null, 2)));
  }
  return h(
    'div',
    {},
    h('span', {}, `The text released from ${shown.from} to ${shown.to}${shown.rule ? `, built by the release rule ${shown.rule}` : ', free text'}:`),
    shown.text === null ? h('p', {}, 'The requester did not send the text: only its digest is known.') : h('pre', { class: 'shown', tabindex: '0' }, shown.text),
  );
}

function votesText(approvals: readonly string[], needed: number): string {
  return `${approvals.length} of ${needed}${approvals.length ? `: ${approvals.join(', ')}` : ''}`;
}

function outcomeText(o: ApprovalDecisionView): string {
  const votes = `${o.approvals.length} of ${o.approvalsNeeded} approvals`;
  if (!o.recorded) return `You had already voted; nothing new was recorded (${votes}).`;
  if (o.decision === 'reject') return 'Rejected: the request is denied.';
  if (o.status === 'signed') return `Approved (${votes}): the signer signed the directive.`;
  if (o.status === 'denied') return `Approved (${votes}), but the signer denied the request.`;
  return `Approved (${votes}): waiting for more approvers.`;
}

/** A WebAuthn failure in words: the approver cancelled, or the browser has no passkey for this site. */
function passkeyProblem(err: unknown): string {
  const name = (err as { name?: unknown })?.name;
  if (name === 'NotAllowedError') return 'The passkey was not used: the prompt was cancelled or timed out, or this browser has no passkey for you.';
  return `The passkey could not sign the vote: ${(err as Error)?.message ?? String(err)}`;
}
