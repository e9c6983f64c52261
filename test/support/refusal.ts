import { ReasonCode, isSecurityError } from '../../functions/kernel/errors';

/** The reason code `promise` is refused with; fails the test when it is not refused, or fails otherwise. */
export async function refusal(promise: Promise<unknown>): Promise<ReasonCode> {
  try {
    await promise;
  } catch (err) {
    if (isSecurityError(err)) return err.reason;
    throw err;
  }
  throw new Error('expected a refusal (a SecurityError), but it went through');
}
