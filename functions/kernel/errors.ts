/**
 * Reason codes of every security decision. They appear in ledger entries, API errors and CLI output,
 * and tests outside this repository match on them (DESIGN §10), so they never change spelling.
 */
export const REASON_CODES = [
  'READ_UP',
  'WRITE_DOWN',
  'BAD_SIGNATURE',
  'REPLAY',
  'EXPIRED',
  'CONTEXT_MISMATCH',
  'UNKNOWN_SENDER',
  'NOT_AUTHORIZED',
  'EGRESS_ABOVE_TRUST',
  'SCHEMA',
  /** A directive or declassification whose bound fields (target, tool, arguments, command, content) differ. */
  'BINDING_MISMATCH',
  /** A ciphertext that fails authentication: flipped bytes, truncation, a different key. */
  'TAMPERED',
  /** A message addressed to another agent. */
  'MISROUTED',
  /** A ledger entry whose hash, link or sequence does not verify. */
  'CHAIN_BROKEN',
  /** A request to a service that is not sealed by its caller, so nothing authenticates who sent it. */
  'UNAUTHENTICATED',
  /** A request whose self-declared actor (`requester`, `actor`) differs from the one KMS or IAM authenticated. */
  'IMPERSONATION',
  /** A high-priority call whose target-like argument (a recipient, a patient) no trusted source names (DESIGN §5). */
  'UNTRUSTED_ARGUMENT',
  /** A call that fits a capability whose uses (`maxUses`) are spent. */
  'CAPABILITY_EXHAUSTED',
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

/**
 * A refused operation. Every refusal in the kernel is one of these, so callers can ledger the reason code
 * and never mistake a security denial for a transient fault worth retrying.
 *
 * @example
 * throw new SecurityError('READ_UP', 'analyst (SECRET/MEDICAL) cannot read TOP_SECRET');
 */
export class SecurityError extends Error {
  public readonly reason: ReasonCode;

  constructor(reason: ReasonCode, message: string, options?: { cause?: unknown }) {
    super(`${reason}: ${message}`, options);
    this.name = 'SecurityError';
    this.reason = reason;
  }
}

/** True when `err` is a kernel refusal, optionally with the given reason code. */
export function isSecurityError(err: unknown, reason?: ReasonCode): err is SecurityError {
  return err instanceof SecurityError && (reason === undefined || err.reason === reason);
}
