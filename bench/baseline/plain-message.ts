import { randomUUID } from 'node:crypto';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';

/**
 * The baseline's SQS body: the same metadata the kernel's envelope carries (ids, sender, addressee, kind,
 * label text, principal, time), with the body as plain JSON instead of a ciphertext and its digest. Nothing is
 * checked on receipt: the baseline measures the system with every security layer off.
 */
export interface PlainMessage<B = unknown> {
  readonly v: 1;
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly kind: 'task' | 'result';
  readonly label: string;
  readonly commandId: string;
  readonly principal: string;
  readonly body: B;
  readonly sentAt: string;
}

export type Outgoing<B> = Omit<PlainMessage<B>, 'v' | 'id' | 'sentAt'>;

export async function sendPlain<B>(sqs: SQSClient, queueUrl: string, out: Outgoing<B>): Promise<void> {
  const message: PlainMessage<B> = { v: 1, id: randomUUID(), ...out, sentAt: new Date().toISOString() };
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
}
