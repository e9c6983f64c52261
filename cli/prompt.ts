import { CliError } from './errors';

/**
 * Asking a person at the terminal for a secret (a password, a new password, an authenticator code): the question goes
 * to stderr, so `--json` output stays clean, and what is typed is not echoed.
 */

/** True when there is a person at a terminal to ask. */
export const canAsk = (): boolean => process.stdin.isTTY === true && process.stderr.isTTY === true;

/**
 * Reads one line from the terminal without echoing it. Ctrl-C or Ctrl-D cancels (an error, exit 1).
 *
 * @example
 * const password = await askSecret('Password for alice: ');
 */
export function askSecret(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.reject(new CliError('there is no terminal to ask in'));
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new CliError('cancelled'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** A new password, typed twice; a mismatch is asked again, up to three times. */
export async function askNewSecret(question: string): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const first = await askSecret(question);
    if (first === (await askSecret('Again, to confirm: '))) return first;
    process.stderr.write('The two did not match.\n');
  }
  throw new CliError('the new password was not confirmed');
}
