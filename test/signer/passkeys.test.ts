import { randomUUID } from 'node:crypto';
import { LedgerReader } from '../../functions/kernel/ledger/ledger';
import { registrationChallenge, voteChallenge } from '../../functions/kernel/directives/passkey-challenge';
import { sealRequest } from '../../functions/kernel/messages/sealed-request';
import { label } from '../../functions/kernel/labels';
import { PasskeyStore } from '../../functions/stores/passkeys';
import { SoftwareAuthenticator } from '../../localstack/software-authenticator';
import { CONSOLE_ORIGIN, SignerFixture, decide, prescribeRequest, signerFixture } from './support';

let f: SignerFixture;
beforeAll(async () => {
  f = await signerFixture();
});

async function pendingPrescription() {
  const commandId = await f.putCommand({ allow: ['prescribe'] });
  const req = prescribeRequest(commandId) as ReturnType<typeof prescribeRequest> & { requestId: string };
  expect(await decide(f.signer, req)).toMatchObject({ status: 'pending', approvalsNeeded: 2 });
  const { request } = await f.signer.approvals.load(req.requestId);
  return { commandId, requestId: req.requestId, digest: request?.argsDigest as string };
}

const refusalsOf = async (commandId: string) =>
  (await f.entriesFor(commandId)).filter((e) => e.type === 'directive.denied').map((e) => [e.reason, e.detail?.refused]);

const registrationOptions = (username: string) => ({
  challenge: registrationChallenge(username),
  rp: { name: 'AgentSec', id: 'localhost' },
  user: { id: Buffer.from(username).toString('base64url'), name: username, displayName: username },
  pubKeyCredParams: [{ type: 'public-key' as const, alg: -7 }],
});

/** carol's vote on a stored request, sealed by the API, carrying `assertion` as its passkey. */
async function voteWith(requestId: string, commandId: string, assertion: unknown, approver = 'carol') {
  const body = { kind: 'vote', requestId, commandId, approver, clearance: 'SECRET/MEDICAL', decision: 'approve', passkey: assertion };
  return f.signer.vote(await f.fromApi(body, requestId, commandId));
}

describe('votes signed by the person (DESIGN §5): an approval counts only as a passkey assertion the signer verified', () => {
  it('two approvals signed with the approvers’ passkeys sign prescribe', async () => {
    const { requestId } = await pendingPrescription();
    expect(await f.castVote(requestId, 'carol')).toMatchObject({ status: 'recorded', approvals: ['carol'], outcome: 'pending' });
    expect(await f.castVote(requestId, 'dave')).toMatchObject({ status: 'recorded', approvals: ['carol', 'dave'], outcome: 'signed' });
    const { votes } = await f.signer.approvals.load(requestId);
    expect(votes).toEqual(expect.arrayContaining([{ approver: 'carol', decision: 'approve', passkey: true }, { approver: 'dave', decision: 'approve', passkey: true }]));
  });

  it('an approval without a passkey is refused PASSKEY_REQUIRED where the topology requires one: ledgered, nothing recorded', async () => {
    const { commandId, requestId } = await pendingPrescription();
    const answer = await f.castVote(requestId, 'carol', { passkey: false });
    expect(answer).toMatchObject({ status: 'refused', code: 'PASSKEY_REQUIRED' });
    expect(answer.status === 'refused' && answer.message).toMatch(/carol's passkey.*only for declassification/);
    expect((await f.signer.approvals.load(requestId)).votes).toEqual([]);
    expect(await refusalsOf(commandId)).toEqual([['NOT_AUTHORIZED', 'PASSKEY_REQUIRED']]);
  });

  it('a rejection needs no passkey: refusing can only stop an action', async () => {
    const { requestId } = await pendingPrescription();
    expect(await f.castVote(requestId, 'carol', { decision: 'reject' })).toMatchObject({ status: 'recorded', outcome: 'denied' });
  });

  it('an assertion over another vote does not verify: another request, another digest, or a rejection turned into an approval', async () => {
    const key = await f.passkeyOf('carol');
    const { commandId, requestId, digest } = await pendingPrescription();
    const other = await pendingPrescription();
    const signedFor = (vote: { requestId: string; commandId: string; digest: string; decision: 'approve' | 'reject' }) =>
      key.sign({ challenge: voteChallenge(vote), rpId: 'localhost' });
    for (const assertion of [
      signedFor({ requestId: other.requestId, commandId: other.commandId, digest: other.digest, decision: 'approve' }),
      signedFor({ requestId, commandId, digest: 'f'.repeat(64), decision: 'approve' }),
      signedFor({ requestId, commandId, digest, decision: 'reject' }),
    ]) {
      expect(await voteWith(requestId, commandId, assertion)).toMatchObject({ status: 'refused', code: 'PASSKEY_INVALID' });
    }
    expect((await f.signer.approvals.load(requestId)).votes).toEqual([]);
    expect((await refusalsOf(commandId)).map(([, refused]) => refused)).toEqual(['PASSKEY_INVALID', 'PASSKEY_INVALID', 'PASSKEY_INVALID']);
  });

  it("a forwarder that names carol cannot vote with dave's passkey, nor with a key it made itself", async () => {
    const dave = await f.passkeyOf('dave');
    await f.passkeyOf('carol');
    const { commandId, requestId, digest } = await pendingPrescription();
    const challenge = voteChallenge({ requestId, commandId, digest, decision: 'approve' });
    expect(await voteWith(requestId, commandId, dave.sign({ challenge, rpId: 'localhost' }))).toMatchObject({ code: 'PASSKEY_INVALID' });
    const forged = new SoftwareAuthenticator(CONSOLE_ORIGIN);
    forged.register(registrationOptions('carol'));
    expect(await voteWith(requestId, commandId, forged.sign({ challenge, rpId: 'localhost' }))).toMatchObject({ code: 'PASSKEY_INVALID' });
    expect((await f.signer.approvals.load(requestId)).votes).toEqual([]);
  });

  it('an assertion made for another origin does not verify', async () => {
    const { commandId, requestId, digest } = await pendingPrescription();
    const carol = await f.passkeyOf('carol');
    const assertion = carol.sign({ challenge: voteChallenge({ requestId, commandId, digest, decision: 'approve' }), rpId: 'localhost' }, 'http://localhost:6666');
    expect(await voteWith(requestId, commandId, assertion)).toMatchObject({ status: 'refused', code: 'PASSKEY_INVALID' });
  });

  it('a replayed assertion is refused: the signature counter must move forward', async () => {
    const carol = await f.passkeyOf('carol');
    const { commandId, requestId, digest } = await pendingPrescription();
    const assertion = carol.sign({ challenge: voteChallenge({ requestId, commandId, digest, decision: 'approve' }), rpId: 'localhost' });
    expect(await voteWith(requestId, commandId, assertion)).toMatchObject({ status: 'recorded', recorded: true });
    expect(await voteWith(requestId, commandId, assertion)).toMatchObject({ status: 'refused', code: 'PASSKEY_INVALID' });
  });
});

describe('passkeys are registered by the signer only, once per approver (DESIGN §5)', () => {
  const register = async (username: string, from = 'api', key = new SoftwareAuthenticator(CONSOLE_ORIGIN)) => {
    const requestId = randomUUID();
    const body = { kind: 'passkey-registration', username, response: key.register(registrationOptions(username)) };
    const sealed = await sealRequest(fresh.cipher, { from, to: 'signer', label: from === 'api' ? label('UNCLASSIFIED') : fresh.topology.agent(from).clearance, requestId, commandId: requestId, body });
    return fresh.signer.registerPasskey(sealed);
  };
  let fresh: SignerFixture;
  beforeAll(async () => {
    fresh = await signerFixture();
  });

  it("an approver's first passkey is stored and ledgered; a second one is refused PASSKEY_EXISTS and the first stays", async () => {
    const first = await fresh.signer.registerPasskey(
      await fresh.fromApi({ kind: 'passkey-registration', username: 'dave', response: new SoftwareAuthenticator(CONSOLE_ORIGIN).register(registrationOptions('dave')) }, randomUUID()),
    );
    expect(first).toMatchObject({ status: 'registered', username: 'dave' });
    const stored = await new PasskeyStore(fresh.doc, fresh.tables.approvals).load('dave');
    const second = await fresh.signer.registerPasskey(
      await fresh.fromApi({ kind: 'passkey-registration', username: 'dave', response: new SoftwareAuthenticator(CONSOLE_ORIGIN).register(registrationOptions('dave')) }, randomUUID()),
    );
    expect(second).toMatchObject({ status: 'refused', code: 'PASSKEY_EXISTS' });
    expect(await new PasskeyStore(fresh.doc, fresh.tables.approvals).load('dave')).toEqual(stored);
    const entries = await new LedgerReader({ doc: fresh.doc, tableName: fresh.tables.ledger }).readAll();
    expect(entries.filter((e) => e.type === 'passkey.registered').map((e) => e.detail?.username)).toEqual(['dave']);
  });

  it('only the API forwards registrations: one sealed by an agent is refused IMPERSONATION', async () => {
    expect(await register('carol', 'core')).toMatchObject({ status: 'refused', code: 'IMPERSONATION' });
  });

  it('only approvers register passkeys, and only for the console origin', async () => {
    expect(await register('alice')).toMatchObject({ status: 'refused', code: 'NOT_AN_APPROVER' });
    expect(await register('carol', 'api', new SoftwareAuthenticator('http://localhost:6666'))).toMatchObject({ status: 'refused', code: 'PASSKEY_INVALID' });
  });

  it('a ceremony made for another account does not register', async () => {
    const key = new SoftwareAuthenticator(CONSOLE_ORIGIN);
    const body = { kind: 'passkey-registration', username: 'carol', response: key.register(registrationOptions('dave')) };
    expect(await fresh.signer.registerPasskey(await fresh.fromApi(body, randomUUID()))).toMatchObject({ status: 'refused', code: 'PASSKEY_INVALID' });
    expect(await new PasskeyStore(fresh.doc, fresh.tables.approvals).load('carol')).toBeUndefined();
  });
});
