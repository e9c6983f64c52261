import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { awsClientConfig } from '../../functions/kernel/aws';
import { deliverToQueue } from '../../functions/kernel/directive-delivery';
import { EnvelopeCipher } from '../../functions/kernel/envelope-encryption';
import { SERVICE_SENDERS, receiveMessage } from '../../functions/kernel/messaging';
import { SingleUseStore } from '../../functions/kernel/single-use';
import { Signer } from '../../functions/kernel/signer';
import { TABLES } from '../../functions/kernel/tables';
import { createLevelKeys, createTable, emulatorEndpoint, unique } from '../support/aws';
import { SignerFixture, prescribeRequest, signerFixture } from './fixture';

let f: SignerFixture;
beforeAll(async () => {
  f = await signerFixture();
});

/** Runs once the kernel's send pipeline lets `signer` reach effectors (today it reaches `core` only). */
const whenSignerReachesEffectors = SERVICE_SENDERS.signer.includes('analyst') ? it : it.skip;

describe('a directive signed after approvals reaches the agent that asked for it', () => {
  whenSignerReachesEffectors('as a directive message its receive pipeline accepts, bound to the suspended request', async () => {
    const sqs = new SQSClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: unique('analyst') }))).QueueUrl!;
    const cipher = new EnvelopeCipher({ kms: f.kms, keyArns: await createLevelKeys(f.kms) });
    const signer = new Signer({
      topology: f.topology, kms: f.kms, authorityKeyArn: f.authorityKeyArn, doc: f.doc,
      tables: { commands: f.tables.commands, approvals: f.tables.approvals }, ledger: f.ledger,
      deliver: deliverToQueue({ topology: f.topology, cipher, sqs, queueUrls: { analyst: queueUrl }, ledger: f.ledger }),
    });
    const commandId = await f.putCommand({ allow: ['prescribe'] });
    const req = prescribeRequest(commandId) as ReturnType<typeof prescribeRequest> & { requestId: string };
    await signer.request(req);
    await signer.approvals.recordApproval({ requestId: req.requestId, approver: 'carol', decision: 'approve' });
    await signer.approvals.recordApproval({ requestId: req.requestId, approver: 'dave', decision: 'approve' });
    const decision = await signer.resume(req.requestId);
    if (decision.status !== 'signed') throw new Error(`expected a directive, got ${JSON.stringify(decision)}`);

    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
    expect(out.Messages).toHaveLength(1);
    const nonces = await createTable(unique('nonces'), TABLES.nonces.partitionKey);
    const received = await receiveMessage(out.Messages![0].Body!, {
      self: 'analyst', topology: f.topology, cipher, singleUse: new SingleUseStore(f.doc, nonces), verifier: f.verifier(),
    });
    expect(received.message).toMatchObject({ from: 'signer', to: 'analyst', kind: 'directive', commandId, principal: 'alice' });
    expect(JSON.parse(received.plaintext.toString('utf8'))).toEqual({ requestId: req.requestId });
    expect(received.directive?.id).toBe(decision.directive.claims.id);
    const sent = (await f.entriesFor(commandId)).filter((e) => e.type === 'message.sent');
    expect(sent).toMatchObject([{ actor: 'signer', directiveId: decision.directive.claims.id }]);
  });
});
