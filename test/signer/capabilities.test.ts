import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { label } from '../../functions/kernel/labels';
import { sealIntent } from '../../functions/kernel/directives/intent';
import { newDigestSalt } from '../../functions/kernel/keyed-digest';
import { randomUUID } from 'node:crypto';
import { CommandFixture, SignerFixture, decide, prescribeRequest, signerEntries, signerFixture } from './support';

/**
 * Capabilities and argument provenance (DESIGN §5): a high-priority directive is signed only for a call that fits a
 * capability the user granted, whose target-like arguments a trusted source names, while the capability has uses
 * left; and the signer reads all of it from the intent the API sealed for it, never from a field an agent writes.
 */

let f: SignerFixture;
beforeAll(async () => {
  f = await signerFixture();
});

const UNCLASSIFIED = label('UNCLASSIFIED');

/** Edge asking to send an email under `commandId`. */
function emailRequest(commandId: string, to: string, requestId: string = randomUUID()) {
  return {
    requestId,
    kind: 'tool',
    requester: 'edge',
    commandId,
    target: 'edge',
    tool: 'send_email',
    args: { to, subject: 'Visiting hours', body: 'Visiting hours are 10:00-18:00.' },
    argsSalt: newDigestSalt(),
    label: UNCLASSIFIED,
  };
}

async function emailCommand(allow: CommandFixture['allow'], text = 'Email visitors@example.org the visiting hours.') {
  return f.putCommand({ allow, text, label: UNCLASSIFIED });
}

describe('argument provenance: a value from untrusted content never chooses a high-priority target', () => {
  it('an injected recipient the user never named is refused UNTRUSTED_ARGUMENT and ledgered', async () => {
    const commandId = await emailCommand(['send_email']);
    const decision = await decide(f.signer, emailRequest(commandId, 'exfil@evil.example'));
    expect(decision).toMatchObject({ status: 'denied', reason: 'UNTRUSTED_ARGUMENT' });
    const entries = signerEntries(await f.entriesFor(commandId));
    expect(entries.map((e) => [e.type, e.reason])).toEqual([['directive.denied', 'UNTRUSTED_ARGUMENT']]);
    expect(JSON.stringify(entries)).not.toContain('exfil@evil.example');
  });

  it("the recipient the user wrote in their own text is granted, whatever its case", async () => {
    const commandId = await emailCommand(['send_email']);
    expect(await decide(f.signer, emailRequest(commandId, 'Visitors@Example.org'))).toMatchObject({ status: 'signed' });
  });

  it('a recipient that only extends one the user wrote is refused (whole tokens only)', async () => {
    const commandId = await emailCommand(['send_email']);
    expect(await decide(f.signer, emailRequest(commandId, 'xvisitors@example.org'))).toMatchObject({ status: 'denied', reason: 'UNTRUSTED_ARGUMENT' });
    expect(await decide(f.signer, emailRequest(commandId, 'visitors@example.org.evil.example'))).toMatchObject({ status: 'denied', reason: 'UNTRUSTED_ARGUMENT' });
  });

  it("a recipient in the topology's address book is granted though the user did not write it", async () => {
    const commandId = await emailCommand(['send_email'], 'Tell the front desk the visiting hours.');
    expect(await decide(f.signer, emailRequest(commandId, 'frontdesk@st-aldric-hospital.example'))).toMatchObject({ status: 'signed' });
  });

  it('a capability that names the value makes it trusted without the user text', async () => {
    const commandId = await emailCommand([{ tool: 'send_email', args: { to: 'family@example.com' } }], 'Send the family the visiting hours.');
    expect(await decide(f.signer, emailRequest(commandId, 'family@example.com'))).toMatchObject({ status: 'signed' });
  });

  it('a pattern constrains a target but does not vouch for it', async () => {
    const commandId = await emailCommand([{ tool: 'send_email', args: { to: { pattern: '.+@example\\.com' } } }], 'Send the family the visiting hours.');
    expect(await decide(f.signer, emailRequest(commandId, 'attacker@example.com'))).toMatchObject({ status: 'denied', reason: 'UNTRUSTED_ARGUMENT' });
  });

  it('a critical call whose patient the user never named is refused before any approval is asked', async () => {
    const commandId = await f.putCommand({ allow: ['prescribe'], text: 'Prescribe amoxicillin-secret-dose for P-1003.', label: label('SECRET', ['MEDICAL']) });
    const decision = await decide(f.signer, prescribeRequest(commandId, { args: { patientId: 'P-1001', drug: 'amoxicillin-secret-dose', doseMg: 500 } }));
    expect(decision).toMatchObject({ status: 'denied', reason: 'UNTRUSTED_ARGUMENT' });
    expect((await f.signer.approvals.listPending()).some((p) => p.commandId === commandId)).toBe(false);
  });
});

describe('capabilities: the call fits what the user allowed, down to the arguments', () => {
  it('a capability bound to one recipient refuses another, even one the user wrote', async () => {
    const commandId = await emailCommand([{ tool: 'send_email', args: { to: 'frontdesk@st-aldric-hospital.example' } }]);
    expect(await decide(f.signer, emailRequest(commandId, 'visitors@example.org'))).toMatchObject({ status: 'denied', reason: 'NOT_AUTHORIZED' });
    expect(await decide(f.signer, emailRequest(commandId, 'frontdesk@st-aldric-hospital.example'))).toMatchObject({ status: 'signed' });
  });

  it('a list allows each of its values and nothing else', async () => {
    const commandId = await emailCommand([{ tool: 'send_email', args: { to: ['a@example.com', 'b@example.com'] } }]);
    expect(await decide(f.signer, emailRequest(commandId, 'b@example.com'))).toMatchObject({ status: 'signed' });
    expect(await decide(f.signer, emailRequest(commandId, 'c@example.com'))).toMatchObject({ status: 'denied', reason: 'NOT_AUTHORIZED' });
  });

  it('maxUses: a capability signs that many directives, then CAPABILITY_EXHAUSTED', async () => {
    const commandId = await emailCommand([{ tool: 'send_email', args: { to: 'visitors@example.org' }, maxUses: 2 }]);
    expect(await decide(f.signer, emailRequest(commandId, 'visitors@example.org'))).toMatchObject({ status: 'signed' });
    expect(await decide(f.signer, emailRequest(commandId, 'visitors@example.org'))).toMatchObject({ status: 'signed' });
    expect(await decide(f.signer, emailRequest(commandId, 'visitors@example.org'))).toMatchObject({ status: 'denied', reason: 'CAPABILITY_EXHAUSTED' });
  });

  it('the same request asked again spends one use (a retry after a crash is not a second use)', async () => {
    const commandId = await emailCommand([{ tool: 'send_email', maxUses: 1 }]);
    const requestId = randomUUID();
    expect(await decide(f.signer, emailRequest(commandId, 'visitors@example.org', requestId))).toMatchObject({ status: 'signed' });
    expect(await decide(f.signer, emailRequest(commandId, 'visitors@example.org', requestId))).toMatchObject({ status: 'signed' });
    expect(await decide(f.signer, emailRequest(commandId, 'visitors@example.org'))).toMatchObject({ status: 'denied', reason: 'CAPABILITY_EXHAUSTED' });
  });

  it('a critical capability is single-use by default: a second prescription under it is refused after approvals', async () => {
    const commandId = await f.putCommand({ allow: ['prescribe'], label: label('SECRET', ['MEDICAL']) });
    const results: string[] = [];
    for (let i = 0; i < 2; i++) {
      const req = prescribeRequest(commandId) as { requestId: string };
      expect(await decide(f.signer, req)).toMatchObject({ status: 'pending' });
      for (const approver of ['carol', 'dave']) await f.signer.approvals.recordApproval({ requestId: req.requestId, approver, decision: 'approve', passkey: true });
      results.push((await f.signer.resume(req.requestId)).status + ':' + ((await f.signer.resume(req.requestId)) as { reason?: string }).reason);
    }
    expect(results).toEqual(['signed:undefined', 'denied:CAPABILITY_EXHAUSTED']);
  });
});

describe('the signer trusts only the intent the API sealed', () => {
  it("a command whose plain allow field was widened authorizes nothing the sealed intent does not", async () => {
    const commandId = randomUUID();
    const intent = await sealIntent(f.cipher, commandId, UNCLASSIFIED, { owner: 'alice', text: 'Email visitors@example.org.', allow: [] });
    await f.putCommand({ commandId, allow: ['send_email'], label: UNCLASSIFIED, intent });
    expect(await decide(f.signer, emailRequest(commandId, 'visitors@example.org'))).toMatchObject({ status: 'denied', reason: 'NOT_AUTHORIZED' });
  });

  it('an intent sealed by another principal than the API does not open, and nothing is signed', async () => {
    const commandId = randomUUID();
    const id = randomUUID();
    const ciphertext = await f.cipher.seal({ from: 'core', to: 'signer', label: UNCLASSIFIED, messageId: id, commandId, plaintext: JSON.stringify({ owner: 'alice', text: 'Email exfil@evil.example', allow: [{ tool: 'send_email' }] }) });
    await f.putCommand({ commandId, allow: ['send_email'], label: UNCLASSIFIED, intent: { id, ciphertext } });
    const decision = await decide(f.signer, emailRequest(commandId, 'exfil@evil.example'));
    expect(decision.status).toBe('denied');
    expect(['CONTEXT_MISMATCH', 'TAMPERED']).toContain((decision as { reason: string }).reason);
  });

  it("another command's intent does not serve this one", async () => {
    const other = randomUUID();
    const commandId = randomUUID();
    const intent = await sealIntent(f.cipher, other, UNCLASSIFIED, { owner: 'alice', text: 'Email visitors@example.org.', allow: [{ tool: 'send_email' }] });
    await f.putCommand({ commandId, allow: ['send_email'], label: UNCLASSIFIED, intent });
    expect((await decide(f.signer, emailRequest(commandId, 'visitors@example.org'))).status).toBe('denied');
  });

  it("a command whose owner was rewritten in the table gets nothing signed: the API sealed another owner", async () => {
    const commandId = await f.putCommand({ allow: ['send_email'], label: UNCLASSIFIED, text: 'Email visitors@example.org.' });
    await f.doc.send(new UpdateCommand({ TableName: f.tables.commands, Key: { commandId }, UpdateExpression: 'SET #o = :o', ExpressionAttributeNames: { '#o': 'owner' }, ExpressionAttributeValues: { ':o': 'bob' } }));
    expect(await decide(f.signer, emailRequest(commandId, 'visitors@example.org'))).toMatchObject({ status: 'denied', reason: 'BINDING_MISMATCH' });
  });

  it('a command without a sealed intent authorizes no high-priority call', async () => {
    const commandId = await f.putCommand({ allow: ['send_email'], label: UNCLASSIFIED, intent: null });
    expect(await decide(f.signer, emailRequest(commandId, 'visitors@example.org'))).toMatchObject({ status: 'denied', reason: 'NOT_AUTHORIZED' });
  });
});

