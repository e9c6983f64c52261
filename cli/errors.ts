import { ApiRequestError, ApiUnreachableError } from './api-client';

/** Exit codes of the CLI. */
export const EXIT = {
  /** Something went wrong: a refusal, a failed command, bad input. */
  failed: 1,
  /** There is no running local cloud to talk to. */
  notRunning: 2,
} as const;

/** An error the CLI reports as one sentence, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const notRunning = (detail: string) =>
  new CliError(`the local cloud is not running (${detail}); start it with \`agentsec dev\``, EXIT.notRunning);

/** A failure as the CLI reports it: one line for a person, its exit code, and the API's status and reason when it answered. */
export interface Failure {
  message: string;
  exitCode: number;
  status?: number;
  reason?: string;
}

/** Any error as one line for a person, and its exit code; never a stack trace. */
export function describeFailure(err: unknown): Failure {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof ApiUnreachableError) {
    // A deployed stack that does not answer is a failure like any other; exit 2 is for "no local cloud running".
    if (err.profile) return { message: err.message, exitCode: EXIT.failed };
    return { message: notRunning(`nothing answers at ${err.apiUrl}`).message, exitCode: EXIT.notRunning };
  }
  if (err instanceof ApiRequestError) {
    const reason = (err.body as { reason?: unknown } | null)?.reason;
    return { message: err.message, exitCode: EXIT.failed, status: err.status, ...(typeof reason === 'string' ? { reason } : {}) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { message: message.split('\n')[0] || 'unknown error', exitCode: EXIT.failed };
}
