import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { DirectiveRequestInput } from '../../functions/kernel/directives/request';
import { deliverToQueue } from '../../functions/signer/directive-delivery';
import { EnvelopeCipher } from '../../functions/kernel/messages/envelope-cipher';
import { label } from '../../functions/kernel/labels';
import { receiveMessage } from '../../functions/kernel/messages/receive';
import { SingleUseStore } from '../../functions/kernel/messages/single-use';
import { Signer } from '../../functions/signer/signer';
import { TABLES } from '../../functions/kernel/tables';
import { createTable, emulatorEndpoint, unique } from '../support/aws';
import { SignerFixture, declassifyRequest, prescribeRequest, signerFixture, decide } from './support';

let f: SignerFixture;
let sqs: SQSClient;
let cipher: EnvelopeCipher;
let singleUse: SingleUseStore;
beforeAll(async () => {
  f = await signerFixture();
  sqs = new SQSClient(awsClientConfig({ endpoint: emulatorEndpoint() }));
  cipher = f.cipher;
  singleUse = new SingleUseStore(f.doc, await createTable(unique('nonces'), TABLES.nonces.partitionKey), 'analyst');
});

/** Approves `req` with `approvers`, resumes it through a signer that delivers to real queues, and reads what arrived. */
async function approveAndReceive(req: DirectiveRequestInput & { requestId: string }, agent: string, approvers: string[]) {
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: unique(agent) }))).QueueUrl!;
  const signer = new Signer({
    topology: f.topology, kms: f.kms, authorityKeyArn: f.authorityKeyArn, doc: f.doc,
    tables: f.tables, ledger: f.ledger, cipher,
    deliver: deliverToQueue({ topology: f.topology, cipher, sqs, queueUrls: { [agent]: queueUrl }, ledger: f.ledger }),
  });
  expect(await decide(signer, req)).toMatchObject({ status: 'pending' });
  for (const approver of approvers) await signer.approvals.recordApproval({ requestId: req.requestId, approver, decision: 'approve', passkey: true });
  const decision = await signer.resume(req.requestId);
  if (decision.status !== 'signed') throw new Error(`expected a directive, got ${JSON.stringify(decision)}`);
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }));
  expect(out.Messages).toHaveLength(1);
  const received = await receiveMessage(out.Messages![0].Body!, { self: agent, topology: f.topology, cipher, singleUse, verifier: f.verifier() });
  return { decision, received };
}

describe('a directive signed after approvals reaches the agent that asked for it', () => {
  it('a critical tool directive goes to the effector that suspended the call, bound to its request', async () => {
    const commandId = await f.putCommand({ allow: ['prescribe'] });
    const req = prescribeRequest(commandId) as DirectiveRequestInput & { requestId: string };
    const { decision, received } = await approveAndReceive(req, 'analyst', ['carol', 'dave']);
    expect(received.message).toMatchObject({ from: 'signer', to: 'analyst', kind: 'directive', commandId, principal: 'alice' });
    expect(JSON.parse(received.plaintext.toString('utf8'))).toEqual({ requestId: req.requestId });
    expect(received.directive?.id).toBe(decision.directive.claims.id);
    const sent = (await f.entriesFor(commandId)).filter((e) => e.type === 'message.sent');
    expect(sent).toMatchObject([{ actor: 'signer', directiveId: decision.directive.claims.id, detail: { to: 'analyst', kind: 'directive' } }]);
  });

  it('an approved declassification goes back to core, which asked for it', async () => {
    const commandId = await f.putCommand({ label: label('SECRET', ['MEDICAL']) });
    const req = declassifyRequest(commandId) as DirectiveRequestInput & { requestId: string };
    const { decision, received } = await approveAndReceive(req, 'core', ['carol', 'dave']);
    expect(received.message).toMatchObject({ from: 'signer', to: 'core', kind: 'directive' });
    expect(received.directive).toMatchObject({ id: decision.directive.claims.id, target: 'scheduler', declassifyTo: label('CONFIDENTIAL') });
  });
});
