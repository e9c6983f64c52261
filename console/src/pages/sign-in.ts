import type { ConsoleConfig } from '../config';
import { LiveRegion, field, h } from '../dom';
import { Session, SignInError, signIn } from '../session';

/**
 * The sign-in page: user name and password, sent to Cognito only (USER_PASSWORD_AUTH). Returns a factory, so every
 * sign-out shows a fresh form with nothing of the previous user in it.
 */
export function signInPage(config: ConsoleConfig, onSignedIn: (session: Session) => void): () => HTMLElement {
  return () => {
    const status = new LiveRegion('status');
    const alert = new LiveRegion('alert');
    const username = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
    const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const button = h('button', { type: 'submit' }, 'Sign in');
    const form = h('form', { class: 'sign-in' }, field('Username', username), field('Password', password), button);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      alert.clear();
      status.say('Signing in…');
      button.disabled = true;
      signIn(config, username.value.trim(), password.value)
        .then((session) => {
          password.value = '';
          onSignedIn(session);
        })
        .catch((err: unknown) => {
          status.clear();
          alert.say(err instanceof SignInError ? err.message : 'The sign-in failed.');
          button.disabled = false;
          password.select();
        });
    });
    return h(
      'section',
      { class: 'page' },
      h('h1', { tabindex: '-1' }, 'Sign in'),
      h('p', {}, 'Sign in with your AgentSec user name and password. The console keeps your session in this tab only.'),
      form,
      status.element,
      alert.element,
    );
  };
}
