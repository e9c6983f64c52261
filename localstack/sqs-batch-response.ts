import type { SQSRecord } from 'aws-lambda';

/**
 * How Lambda reads a handler's answer to an SQS batch with `ReportBatchItemFailures` on: nothing, an empty
 * object or an empty/null `batchItemFailures` is complete success; a list of `{itemIdentifier}` naming
 * records of this batch fails exactly those; anything else is malformed and fails the whole batch, so a
 * confused handler can never acknowledge a message it did not process.
 */

/** The handler's response could not be read as a batch response; every record of the batch is retried. */
export class MalformedBatchResponseError extends Error {
  constructor(message: string) {
    super(`malformed batch response: ${message}`);
    this.name = 'MalformedBatchResponseError';
  }
}

/** The message ids the response reports as failed; throws {@link MalformedBatchResponseError} when malformed. */
export function failedMessageIds(response: unknown, records: readonly SQSRecord[]): Set<string> {
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object' || Array.isArray(response)) {
    throw new MalformedBatchResponseError(`expected an object, got ${Array.isArray(response) ? 'an array' : typeof response}`);
  }
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) throw new MalformedBatchResponseError('batchItemFailures must be an array');
  const inBatch = new Set(records.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const item of failures) {
    const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id.length === 0) {
      throw new MalformedBatchResponseError('every batchItemFailures entry needs a non-empty itemIdentifier');
    }
    if (!inBatch.has(id)) throw new MalformedBatchResponseError(`itemIdentifier ${JSON.stringify(id)} is not in this batch`);
    failed.add(id);
  }
  return failed;
}
