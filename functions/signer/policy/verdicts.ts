import { ReasonCode } from '../../kernel/errors';
import { Denial, PolicyVerdict } from './types';

/** The verdicts the rules return: a shared grant and the `deny(reason, message)` helper (its message is text only). */

export const GRANT: PolicyVerdict = Object.freeze({ verdict: 'grant' });

export const deny = (reason: ReasonCode, message: string, rejected?: boolean): Denial =>
  rejected ? { verdict: 'deny', reason, message, rejected } : { verdict: 'deny', reason, message };
