import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/**
 * What the Lambda runtime gives a handler, for handlers the local cloud runs in-process: a context object
 * with the same fields and a deadline, and an invocation that accepts async and callback-style handlers.
 */

/** A handler as Lambda calls it: async (returns a promise) or callback-style (three parameters). */
export type LambdaHandler<TEvent, TResult> = (
  event: TEvent,
  context: Context,
  callback: (error?: Error | string | null, result?: TResult) => void,
) => void | Promise<TResult>;

export interface LambdaContextProps {
  readonly functionName: string;
  /** The function timeout; `getRemainingTimeInMillis()` counts down from it. */
  readonly timeoutMs: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '123456789012' (moto's account) */
  readonly accountId?: string;
  /** @default 512 */
  readonly memoryMiB?: number;
}

/** The handler ran longer than its timeout (Lambda reports "Task timed out after N seconds"). */
export class LambdaTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    this.name = 'LambdaTimeoutError';
  }
}

const unsupported = (name: string) => () => {
  throw new Error(`context.${name}() is not supported: return a promise from the handler`);
};

/** A fresh context for one invocation, as the Node.js Lambda runtime builds it. */
export function createLambdaContext(props: LambdaContextProps): Context {
  const region = props.region ?? 'us-east-1';
  const accountId = props.accountId ?? '123456789012';
  const deadline = Date.now() + props.timeoutMs;
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: props.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${props.functionName}`,
    memoryLimitInMB: String(props.memoryMiB ?? 512),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${props.functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
}

/**
 * Runs one invocation to its result. A callback-style handler (three parameters, no promise) completes through
 * its callback; anything else completes through its promise or return value. Past `timeoutMs` the invocation
 * fails with {@link LambdaTimeoutError}, as Lambda's does (the in-process handler cannot be killed; its late
 * result is ignored).
 */
export function invokeHandler<TEvent, TResult>(
  handler: LambdaHandler<TEvent, TResult>,
  event: TEvent,
  context: Context,
  timeoutMs: number,
): Promise<TResult | undefined> {
  return new Promise<TResult | undefined>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => settle(() => reject(new LambdaTimeoutError(timeoutMs))), timeoutMs);
    function settle(action: () => void): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      action();
    }
    const callback = (error?: Error | string | null, result?: TResult) =>
      settle(() => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result)));
    try {
      const out = handler(event, context, callback);
      if (out !== null && typeof out === 'object' && typeof (out as Promise<TResult>).then === 'function') {
        (out as Promise<TResult>).then((r) => settle(() => resolve(r)), (e: unknown) => settle(() => reject(e)));
      } else if (handler.length < 3) {
        settle(() => resolve(out as TResult | undefined));
      }
    } catch (err) {
      settle(() => reject(err));
    }
  });
}
