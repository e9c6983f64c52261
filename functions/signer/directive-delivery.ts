import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { StoredRequest } from '../stores/approvals';
import { SignedDirective } from '../kernel/directives/claims';
import { EnvelopeCipher } from '../kernel/messages/envelope-cipher';
import { formatLabel } from '../kernel/labels';
import type { LedgerAppender } from '../kernel/ledger/pending';
import { prepareMessage } from '../kernel/messages/send';
import { DirectiveDelivery, SIGNER_ACTOR } from './signer';
import { Topology } from '../kernel/topology/topology';

export interface QueueDeliveryProps {
  readonly topology: Topology;
  readonly cipher: EnvelopeCipher;
  readonly sqs: SQSClient;
  /** Queue URL by agent name (`AGENTSEC_QUEUE_URLS`). */
  readonly queueUrls: Readonly<Record<string, string>>;
  readonly ledger: LedgerAppender;
}

/**
 * Hands a directive signed after human approval to the agent that asked for it, as a `directive` message from
 * `signer` through the kernel's send pipeline (DESIGN §4). The body names the request only; the agent kept the
 * call it suspended under that request id, and its receive pipeline verifies the directive.
 */
export function deliverToQueue(props: QueueDeliveryProps): DirectiveDelivery {
  return async (request: StoredRequest, directive: SignedDirective) => {
    const { claims } = directive;
    const to = request.requester;
    const message = await prepareMessage({
      topology: props.topology,
      cipher: props.cipher,
      from: SIGNER_ACTOR,
      to,
      kind: 'directive',
      label: claims.label,
      commandId: claims.commandId,
      principal: claims.principal,
      plaintext: JSON.stringify({ requestId: request.requestId }),
      directive,
    });
    const queueUrl = props.queueUrls[to];
    if (!queueUrl) throw new Error(`no queue URL for agent "${to}" in AGENTSEC_QUEUE_URLS`);
    await props.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
    await props.ledger.append({
      type: 'message.sent',
      actor: SIGNER_ACTOR,
      commandId: claims.commandId,
      messageId: message.id,
      directiveId: claims.id,
      digests: { content: message.contentDigest },
      detail: { to, kind: 'directive', label: formatLabel(claims.label), requestId: request.requestId },
    });
  };
}
