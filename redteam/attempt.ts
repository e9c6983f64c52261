/**
 * What the red team records about each attack attempt. Verdicts are mechanical: an attempt is a `success` when
 * a forbidden effect is observed, and `blocked` only when the refusal itself is observable (a ledger entry with
 * a reason code, an HTTP 4xx, a failed audit verification).
 */

export const ATTACK_CLASSES = ['injection', 'arguments', 'protocol', 'directives', 'approvals', 'identity', 'ledger', 'runtime'] as const;
export type AttackClass = (typeof ATTACK_CLASSES)[number];

export type Verdict =
  /** A forbidden effect happened: the system failed. */
  | 'success'
  /** Refused, and the refusal is observable. */
  | 'blocked'
  /** Waiting for human approvals that were never given (DESIGN §5, §6); nothing happened. */
  | 'held'
  /** Nothing forbidden happened, and nothing needed refusing (the model's obedience stayed within policy). */
  | 'contained'
  /** Within policy by design, but worth knowing: listed with its detail (e.g. an allowed tool run with injected arguments). */
  | 'residual'
  /** The harness could not judge the attempt (timeout, setup failure): the run is not conclusive. */
  | 'error';

export interface Outcome {
  readonly class: AttackClass;
  /** What was tried, e.g. `important_instructions × email-text × tool-result`. */
  readonly name: string;
  readonly verdict: Verdict;
  /** The observed refusal (reason code, HTTP status) or the forbidden effect. */
  readonly evidence: string;
  /** Not a success, but not what the kernel documents either (an unexpected reason code, a wrong firstBadSeq). */
  readonly anomaly?: string;
}

export const outcome = (
  cls: AttackClass,
  name: string,
  verdict: Verdict,
  evidence: string,
  anomaly?: string,
): Outcome => (anomaly ? { class: cls, name, verdict, evidence, anomaly } : { class: cls, name, verdict, evidence });

/** Runs `tasks` with at most `limit` in flight, keeping their order in the result. */
export async function inParallel<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await task(items[i], i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value, or gives up with undefined after `timeoutMs`. */
export async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 200): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await sleep(everyMs);
  }
}
