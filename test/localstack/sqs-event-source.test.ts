import { createHash } from 'node:crypto';
import { ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ensureAgentQueues, queueArn } from '../../localstack/provision-queues';
import { failedMessageIds, MalformedBatchResponseError } from '../../localstack/sqs-batch-response';
import { SqsEventSource, SqsEventSourceProps } from '../../localstack/sqs-event-source';
import { eventually, sleep, sqs, uniquePrefix } from './support';

/** A record as the Lambda documentation shows it ("Example Amazon SQS message event (standard queue)"). */
const DOCUMENTED_RECORD = {
  messageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
  receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...',
  body: 'Test message.',
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: '1545082649183',
    SenderId: 'AIDAIENQZJOLO23YVJ4VO',
    ApproximateFirstReceiveTimestamp: '1545082649185',
  },
  messageAttributes: {
    myAttribute: { stringValue: 'myValue', stringListValues: [], binaryListValues: [], dataType: 'String' },
  },
  md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:my-queue',
  awsRegion: 'us-east-2',
};

const VISIBILITY_SECONDS = 1;
const MAX_RECEIVE_COUNT = 2;
const quiet = { error: () => undefined, warn: () => undefined };

/** A fresh queue with its failed queue and DLQ (maxReceiveCount 2, visibility 1 s), as provisioning creates them. */
async function freshQueue(): Promise<{ url: string; failed: string }> {
  const { queues, failedQueues } = await ensureAgentQueues(sqs(), {
    prefix: uniquePrefix('esm'),
    agents: ['worker'],
    maxReceiveCount: MAX_RECEIVE_COUNT,
    failedMaxReceiveCount: MAX_RECEIVE_COUNT,
    visibilityTimeoutSeconds: VISIBILITY_SECONDS,
    retentionDays: 1,
  });
  return { url: queues.worker, failed: failedQueues.worker };
}

async function sendBodies(url: string, bodies: string[]): Promise<void> {
  await sqs().send(new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: b })) }));
}

describe('the in-process SQS event source', () => {
  const sources: SqsEventSource[] = [];
  const source = (props: Omit<SqsEventSourceProps, 'sqs' | 'functionName' | 'waitTimeSeconds'>) => {
    const s = new SqsEventSource({ sqs: sqs(), functionName: 'worker', waitTimeSeconds: 1, logger: quiet, ...props });
    sources.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.stop(2000)));
  });

  it('delivers records in the exact shape of the Lambda SQS event, with a Lambda context', async () => {
    const { url } = await freshQueue();
    const arn = await queueArn(sqs(), url);
    await sqs().send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{"hello":"world"}',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'task' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('xy') },
        },
      }),
    );
    let seen: { event: SQSEvent; context: Context; remaining: number } | undefined;
    const s = source({
      queueUrl: url,
      handler: async (event, context) => {
        seen = { event, context, remaining: context.getRemainingTimeInMillis() };
      },
    });
    await s.start();
    await eventually(() => seen !== undefined, 10_000, 'an invocation');
    const record = seen!.event.Records[0];
    expect(Object.keys(seen!.event)).toEqual(['Records']);
    expect(Object.keys(record).filter((k) => k !== 'md5OfMessageAttributes').sort()).toEqual(Object.keys(DOCUMENTED_RECORD).sort());
    for (const [key, value] of Object.entries(DOCUMENTED_RECORD)) expect(typeof record[key as keyof SQSRecord]).toBe(typeof value);
    expect(Object.keys(record.attributes).sort()).toEqual(Object.keys(DOCUMENTED_RECORD.attributes).sort());
    for (const value of Object.values(record.attributes)) expect(value).toMatch(/^\S+$/);
    expect(record).toMatchObject({
      body: '{"hello":"world"}',
      md5OfBody: createHash('md5').update('{"hello":"world"}').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: arn,
      awsRegion: arn.split(':')[3],
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: {
        kind: { stringValue: 'task', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: { binaryValue: Buffer.from('xy').toString('base64'), stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
    });
    expect(Object.keys(record.messageAttributes.kind).sort()).toEqual(Object.keys(DOCUMENTED_RECORD.messageAttributes.myAttribute).sort());
    expect(record.md5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(Number(record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(Number(record.attributes.SentTimestamp));
    expect(seen!.context).toMatchObject({ functionName: 'worker', functionVersion: '$LATEST', memoryLimitInMB: '512' });
    expect(seen!.context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen!.context.invokedFunctionArn).toBe(`arn:aws:lambda:${arn.split(':')[3]}:${arn.split(':')[4]}:function:worker`);
    expect(seen!.remaining).toBeGreaterThan(0);
    expect(seen!.remaining).toBeLessThanOrEqual(VISIBILITY_SECONDS * 1000);
    await s.idle();
    expect(s.counters).toMatchObject({ received: 1, succeeded: 1, failed: 0, invocations: 1 });
  });

  it('a partial batch failure redelivers only the failed record, after the visibility timeout', async () => {
    const { url } = await freshQueue();
    await sendBodies(url, ['ok-1', 'fail', 'ok-2']);
    const deliveries: { body: string; at: number; count: string }[] = [];
    const s = source({
      queueUrl: url,
      batchSize: 10,
      handler: async (event): Promise<SQSBatchResponse> => {
        for (const r of event.Records) deliveries.push({ body: r.body, at: Date.now(), count: r.attributes.ApproximateReceiveCount });
        const firstTry = event.Records.filter((r) => r.body === 'fail' && r.attributes.ApproximateReceiveCount === '1');
        return { batchItemFailures: firstTry.map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    await s.start();
    await eventually(() => deliveries.filter((d) => d.body === 'fail').length === 2, 10_000, 'the redelivery');
    await s.idle();
    const of = (body: string) => deliveries.filter((d) => d.body === body);
    expect(of('ok-1')).toHaveLength(1);
    expect(of('ok-2')).toHaveLength(1);
    const [first, second] = of('fail');
    expect(second.count).toBe('2');
    expect(second.at - first.at).toBeGreaterThanOrEqual(VISIBILITY_SECONDS * 1000 - 100);
    expect(s.counters).toMatchObject({ received: 4, succeeded: 3, failed: 1 });
  });

  it('a thrown handler redelivers every record of its batch', async () => {
    const { url } = await freshQueue();
    await sendBodies(url, ['a', 'b']);
    const deliveries: string[] = [];
    let calls = 0;
    const s = source({
      queueUrl: url,
      batchSize: 10,
      handler: async (event) => {
        deliveries.push(...event.Records.map((r) => `${r.body}#${r.attributes.ApproximateReceiveCount}`));
        calls += 1;
        if (calls === 1) throw new Error('boom');
      },
    });
    await s.start();
    await eventually(() => deliveries.length >= 4, 10_000, 'the redelivery');
    await s.idle();
    expect(deliveries.sort()).toEqual(['a#1', 'a#2', 'b#1', 'b#2']);
    expect(s.counters).toMatchObject({ failed: 2, succeeded: 2 });
  });

  it('a malformed batch response fails the whole batch', async () => {
    const { url } = await freshQueue();
    await sendBodies(url, ['x', 'y']);
    const counts: string[] = [];
    const s = source({
      queueUrl: url,
      batchSize: 10,
      handler: async (event) => {
        counts.push(...event.Records.map((r) => r.attributes.ApproximateReceiveCount));
        if (event.Records.some((r) => r.attributes.ApproximateReceiveCount === '1')) {
          return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
        }
        return { batchItemFailures: [] };
      },
    });
    await s.start();
    await eventually(() => counts.length >= 4, 10_000, 'the redelivery');
    expect(counts.sort()).toEqual(['1', '1', '2', '2']);
  });

  it('reads batch responses as Lambda does: empty is success, anything unreadable fails everything', () => {
    const records = [{ messageId: 'm1' }, { messageId: 'm2' }] as SQSRecord[];
    for (const ok of [undefined, null, {}, { batchItemFailures: null }, { batchItemFailures: [] }]) {
      expect(failedMessageIds(ok, records)).toEqual(new Set());
    }
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, records)).toEqual(new Set(['m2']));
    const malformed = [
      'ok',
      42,
      [],
      { batchItemFailures: {} },
      { batchItemFailures: [{}] },
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{ itemIdentifier: null }] },
      { batchItemFailures: [{ id: 'm1' }] },
      { batchItemFailures: [{ itemIdentifier: 'm3' }] },
    ];
    for (const bad of malformed) expect(() => failedMessageIds(bad, records)).toThrow(MalformedBatchResponseError);
  });

  it('after maxReceiveCount failed receives the message is redriven to the failed queue, not retried again', async () => {
    const { url, failed } = await freshQueue();
    await sendBodies(url, ['poison']);
    const counts: string[] = [];
    const s = source({
      queueUrl: url,
      handler: async (event) => {
        counts.push(...event.Records.map((r) => r.attributes.ApproximateReceiveCount));
        throw new Error('always fails');
      },
    });
    await s.start();
    let redriven: string | undefined;
    await eventually(
      async () => {
        const out = await sqs().send(new ReceiveMessageCommand({ QueueUrl: failed, WaitTimeSeconds: 1 }));
        redriven = out.Messages?.[0]?.Body;
        return redriven !== undefined;
      },
      15_000,
      'the message in the failed queue',
    );
    expect(redriven).toBe('poison');
    await sleep(VISIBILITY_SECONDS * 1000 + 500);
    expect(counts).toEqual(['1', '2']);
  });

  it('never runs more than maxConcurrency batches at once', async () => {
    const { url } = await freshQueue();
    await sendBodies(url, ['1', '2', '3', '4', '5', '6']);
    let active = 0;
    let peak = 0;
    const s = source({
      queueUrl: url,
      batchSize: 1,
      maxConcurrency: 2,
      handler: async () => {
        active += 1;
        peak = Math.max(peak, active);
        await sleep(150);
        active -= 1;
      },
    });
    await s.start();
    await eventually(() => s.counters.succeeded === 6, 15_000, 'six records');
    expect(peak).toBe(2);
    expect(s.counters.invocations).toBe(6);
  });

  it('stop() waits for the batch in flight, acknowledges it, and stops polling', async () => {
    const { url } = await freshQueue();
    await sendBodies(url, ['slow']);
    let started = false;
    let finished = false;
    const s = source({
      queueUrl: url,
      handler: async () => {
        started = true;
        await sleep(400);
        finished = true;
      },
    });
    await s.start();
    await eventually(() => started, 10_000, 'the invocation');
    await expect(s.stop(5000)).resolves.toBe(true);
    expect(finished).toBe(true);
    expect(s.counters.succeeded).toBe(1);
    await sendBodies(url, ['after-stop']);
    await sleep(1500);
    const left = await sqs().send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    expect(left.Messages?.map((m) => m.Body)).toEqual(['after-stop']);
    expect(s.counters.invocations).toBe(1);
  });

  it('stop() is bounded when a handler hangs; the invocation times out and its record is not acknowledged', async () => {
    const { url } = await freshQueue();
    await sendBodies(url, ['stuck']);
    let release!: () => void;
    const hung = new Promise<void>((r) => (release = r));
    let started = false;
    const s = source({
      queueUrl: url,
      handler: async () => {
        started = true;
        await hung;
      },
    });
    await s.start();
    await eventually(() => started, 10_000, 'the invocation');
    const t0 = Date.now();
    await expect(s.stop(200)).resolves.toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
    await eventually(() => s.counters.failed === 1, 5000, 'the function timeout');
    release();
    expect(s.counters.succeeded).toBe(0);
    const back = await sqs().send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 2, MessageSystemAttributeNames: ['All'] }));
    expect(back.Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([['stuck', '2']]);
  });
});
