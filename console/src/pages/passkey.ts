import { startRegistration } from '@simplewebauthn/browser';
import { ApiError } from '../api';
import { LiveRegion, h, problem, replace, time } from '../dom';
import { PageContext, PageView } from '../page';

/**
 * `#/passkey`: an approver registers the passkey that signs their votes (DESIGN §5: no service can forge a vote).
 * The private key stays in the approver's authenticator; the API keeps the public key.
 */
export function passkeyPage(ctx: PageContext, _params: URLSearchParams): PageView {
  const status = new LiveRegion('status');
  const alert = new LiveRegion('alert');
  const actions = h('div', { class: 'actions' });
  const me = ctx.me;

  const register = h('button', { type: 'button' }, 'Register a passkey');
  register.addEventListener('click', () => {
    alert.clear();
    register.disabled = true;
    status.say('Asking the API for a registration challenge…');
    (async () => {
      const { options } = await ctx.api.passkeyOptions();
      status.say('Create the passkey with your authenticator…');
      const response = await startRegistration({ optionsJSON: options as Parameters<typeof startRegistration>[0]['optionsJSON'] });
      status.say('Registering the passkey…');
      const created = await ctx.api.registerPasskey(response);
      if (ctx.signal.aborted) return;
      status.say('Passkey registered on ', time(created.createdAt), '. Your approvals are now signed with it.');
      replace(actions);
      await ctx.refreshMe();
    })().catch((err: unknown) => {
      if (ctx.signal.aborted) return;
      status.clear();
      alert.say(err instanceof ApiError ? problem(err.message, err.reason) : problem(registrationProblem(err)));
      register.disabled = false;
    });
  });

  if (!me) {
    alert.say(problem('Your account could not be read, so the console cannot tell whether you have a passkey.'));
  } else if (me.passkey.registered) {
    status.say('You have a passkey, registered on ', time(me.passkey.createdAt), '.');
  } else if (me.approver) {
    status.say('You have no passkey yet.');
    replace(actions, register);
  } else {
    status.say(`${me.username} is not an approver: only approvers register a passkey.`);
  }

  return {
    title: 'Passkey',
    content: h(
      'section',
      { class: 'page' },
      h('h1', { tabindex: '-1' }, 'Passkey'),
      h(
        'p',
        {},
        'Approvers sign each vote with a passkey: the vote is bound to what they were shown, and no service, ' +
          'the API included, can cast it for them. The private key never leaves your authenticator.',
      ),
      status.element,
      actions,
      alert.element,
    ),
  };
}

function registrationProblem(err: unknown): string {
  const name = (err as { name?: unknown })?.name;
  if (name === 'NotAllowedError') return 'No passkey was created: the prompt was cancelled or timed out.';
  if (name === 'InvalidStateError') return 'This authenticator already holds a passkey for you.';
  return `The passkey could not be created: ${(err as Error)?.message ?? String(err)}`;
}
